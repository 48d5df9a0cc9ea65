// Builds an image's variants layer by layer into the cache. A layer already cached is reused. The
// base gets a root tree from mmdebstrap (the base set, every version pinned), made whole into a file
// system. An upper layer is an empty qcow2 on its parent, mounted (overlay-mount.ts), into which
// only the layer's change is written: its added packages' exact .debs installed by the image's own
// apt (layer-install.ts), then declared users, rendered files and units (layer-setup.ts), and the
// times of what it changed clamped. Before a layer is committed, its file system's own dpkg status
// must list exactly the locked packages.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LockedPackage } from "../lockfile.ts";
import { compareWithLock, formatMismatch, parseDpkgStatus, type InstalledPackage } from "./dpkg-status.ts";
import { backingReference, cachedLayer, commitLayer, dropChildren, stagingDir, sweepStaging, type LayerRecord } from "./layer-cache.ts";
import { fetchDebs, installDebs } from "./layer-install.ts";
import { closeAllLayers, mountLayer } from "./overlay-mount.ts";
import type { PlannedLayer } from "./layer-plan.ts";
import { HOST_SOURCES, runMmdebstrap } from "./mmdebstrap.ts";
import { fsBytesFor, mkfsFromDir, qcow2, qcow2Overlay, storedBytes } from "./qcow2-chain.ts";
import { applyLayerContents } from "./layer-setup.ts";
import { changedSince, clampMtimes, clampMtimesOf, contentDigest, layerContentDigest } from "./rootfs.ts";
import { running, runTool, toolOutput } from "./tools.ts";

export interface BuildContext {
  cache: string;
  sourceDateEpoch: number;
  log: (line: string) => void;
}

export interface BuiltLayer extends LayerRecord {
  cached: boolean;
  seconds: number;
}

/** Work in progress, undone when the process is interrupted (mounted layers: overlay-mount.ts). */
const inFlight = { dirs: new Set<string>() };

interface Built {
  rootfsDigest: string;
  virtualBytes: number;
}

function cleanupInFlight(): void {
  // mmdebstrap mounts /proc, /sys and devices inside its target: it is stopped (it unmounts on
  // SIGTERM) and anything still mounted below our directories is detached before they are removed,
  // so removing them can never reach into the host's file systems.
  for (const child of running) child.kill("SIGTERM");
  if (running.size > 0) spawnSync("sleep", ["2"]);
  closeAllLayers();
  for (const d of inFlight.dirs) {
    if (unmountBelow(d)) rmSync(d, { recursive: true, force: true });
    else process.stderr.write(`left ${d} in place: something is still mounted below it\n`);
  }
}

/** Lazily unmounts every mount below `dir`; false when one stays. */
function unmountBelow(dir: string): boolean {
  const below = () =>
    readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1]?.replace(/\\040/g, " "))
      .filter((m): m is string => m !== undefined && m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  for (const m of below()) spawnSync("umount", ["-l", m], { stdio: "ignore" });
  return below().length === 0;
}

let handlersInstalled = false;
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      cleanupInFlight();
      process.exit(130);
    });
  }
}

export class LayerBuilder {
  private readonly ctx: BuildContext;
  private readonly work: string;
  readonly built = new Map<string, BuiltLayer>();
  private readonly debCache: string;

  constructor(ctx: BuildContext) {
    this.ctx = ctx;
    installSignalHandlers();
    mkdirSync(ctx.cache, { recursive: true });
    for (const name of sweepStaging(ctx.cache)) ctx.log(`removed ${name}, left by an interrupted build`);
    this.debCache = join(ctx.cache, "debs");
    mkdirSync(this.debCache, { recursive: true });
    this.work = mkdtempSync(join(tmpdir(), "virtform-build-"));
    inFlight.dirs.add(this.work);
  }

  /** Builds (or finds) each layer of one variant's stack, bottom first. */
  async buildFor(suite: string, stack: readonly PlannedLayer[], locked: readonly LockedPackage[]): Promise<BuiltLayer[]> {
    const byId = new Map(locked.map((p) => [`${p.name}=${p.version}`, p]));
    const out: BuiltLayer[] = [];
    for (const layer of stack) {
      const done = this.built.get(layer.digest);
      if (done) {
        out.push(done);
        continue;
      }
      const started = Date.now();
      // An overlay is only valid on its parent's exact bytes: above a layer rebuilt in this run, the cache is not trusted.
      const parentRebuilt = layer.parent !== undefined && this.built.get(layer.parent)?.cached === false;
      const cached = parentRebuilt ? undefined : cachedLayer(this.ctx.cache, layer.digest);
      const record = cached ?? (await this.buildLayer(suite, layer, layer.cumulative.map((id) => byId.get(id)!)));
      const built = { ...record, cached: cached !== undefined, seconds: (Date.now() - started) / 1000 };
      this.built.set(layer.digest, built);
      out.push(built);
    }
    return out;
  }

  private async buildLayer(suite: string, layer: PlannedLayer, expected: readonly LockedPackage[]): Promise<LayerRecord> {
    const staging = stagingDir(this.ctx.cache, layer.digest);
    inFlight.dirs.add(staging);
    const image = join(staging, "layer.qcow2");
    const { rootfsDigest, virtualBytes } = layer.parent === undefined ? await this.buildBase(suite, layer, expected, image) : await this.buildOverlay(layer, layer.parent, expected, image);
    const record: LayerRecord = {
      digest: layer.digest,
      role: layer.role,
      ...(layer.parent ? { parent: layer.parent } : {}),
      adds: layer.adds,
      files: layer.files.map((f) => f.path),
      rootfsDigest,
      storedBytes: storedBytes(image),
      virtualBytes,
    };
    commitLayer(this.ctx.cache, staging, record);
    inFlight.dirs.delete(staging);
    for (const child of dropChildren(this.ctx.cache, layer.digest)) this.ctx.log(`  removed cached layer ${child.slice(0, 19)}: its parent was rebuilt`);
    return record;
  }

  /** The base: a root tree from mmdebstrap, made whole into a file system. */
  private async buildBase(suite: string, layer: PlannedLayer, expected: readonly LockedPackage[], image: string): Promise<Built> {
    const { log, sourceDateEpoch: epoch } = this.ctx;
    const tag = layer.digest.slice(7, 23);
    const root = join(this.work, `root-${tag}`);
    log(`  ${layer.role} layer: mmdebstrap ${layer.cumulative.length} packages`);
    // The host's apt sources, as the upper layers' downloads use (layer-install.ts).
    await runMmdebstrap({ suite, packages: layer.cumulative, target: root, sources: HOST_SOURCES, debCache: this.debCache }, epoch);
    await applyLayerContents(root, layer.files, layer.setup, epoch);
    clampMtimes(root, epoch);
    const rootfsDigest = contentDigest(root);
    checkInstalled(layer, readFileSync(join(root, "var/lib/dpkg/status"), "utf8"), expected);
    const raw = join(this.work, `fs-${tag}.raw`);
    const virtualBytes = fsBytesFor(await usedBytes(root));
    await mkfsFromDir(root, raw, virtualBytes, layer.digest, epoch);
    rmSync(root, { recursive: true, force: true });
    await qcow2(raw, image);
    rmSync(raw, { force: true });
    return { rootfsDigest, virtualBytes };
  }

  /**
   * An upper layer: an empty qcow2 on its parent, mounted, and only the layer's change written into
   * it (its added packages installed by the image's apt, its files and setup), times clamped on what
   * it changed. No copy of the parent is made or walked for content.
   */
  private async buildOverlay(layer: PlannedLayer, parent: string, expected: readonly LockedPackage[], image: string): Promise<Built> {
    const { cache, log, sourceDateEpoch: epoch } = this.ctx;
    const below = cachedLayer(cache, parent);
    if (!below) throw new Error(`bug: the ${layer.role} layer's parent ${parent.slice(0, 19)} is not in the cache`);
    const byId = new Map(expected.map((p) => [`${p.name}=${p.version}`, p]));
    const adds = layer.adds.map((id) => byId.get(id)!);
    if (adds.length > 0) {
      log(`  ${layer.role} layer: fetching ${adds.length} packages`);
      await fetchDebs(this.debCache, adds);
    }
    // Room for what the lock says the packages take once installed; the parent's size at least.
    const needed = fsBytesFor(expected.reduce((sum, p) => sum + p.installedKiB * 1024, 0));
    const virtualBytes = Math.max(below.virtualBytes, needed);
    await qcow2Overlay(image, backingReference(parent), virtualBytes);
    log(`  ${layer.role} layer: ${adds.length > 0 ? `installing ${adds.length} packages and ` : ""}${layer.files.length} files on its parent`);
    // What the layer changes gets a later ctime than anything of its parent (the kernel's clock; no tool sets it back).
    const since = Date.now();
    const mounted = await mountLayer(image, this.work, layer.digest.slice(7, 23), virtualBytes > below.virtualBytes ? virtualBytes : undefined);
    let rootfsDigest: string;
    try {
      const root = mounted.root;
      if (adds.length > 0) await installDebs(mounted, this.debCache, adds, epoch);
      await applyLayerContents(root, layer.files, layer.setup, epoch);
      const changed = changedSince(root, since);
      clampMtimesOf(root, changed, epoch);
      rootfsDigest = layerContentDigest(below.rootfsDigest, root, changed);
      checkInstalled(layer, readFileSync(join(root, "var/lib/dpkg/status"), "utf8"), expected);
    } catch (err) {
      mounted.close();
      throw err;
    }
    const problem = mounted.close();
    if (problem !== undefined) throw new Error(problem);
    // The qcow2's own bookkeeping, checked once its writer is gone (cheap: metadata only).
    await runTool("qemu-img", ["check", "-q", image]);
    return { rootfsDigest, virtualBytes };
  }

  /** Removes this run's work and any staging a failed layer left (nothing committed is touched). */
  close(): void {
    closeAllLayers();
    for (const d of inFlight.dirs) if (unmountBelow(d)) rmSync(d, { recursive: true, force: true });
    inFlight.dirs.clear();
  }
}

/** The layer's file system's own dpkg status must be the locked set (names, versions, architectures). */
function checkInstalled(layer: PlannedLayer, status: string, expected: readonly LockedPackage[]): void {
  const installed = parseDpkgStatus(status);
  const mismatch = compareWithLock(installed, expected.map((p): InstalledPackage => ({ name: p.name, version: p.version, architecture: p.architecture })));
  if (mismatch) throw new Error(`the ${layer.role} layer's /var/lib/dpkg/status differs from the lock:\n${formatMismatch(mismatch)}`);
}

async function usedBytes(root: string): Promise<number> {
  return Number((await toolOutput("du", ["-sb", root])).split(/\s/)[0]);
}
