// Builds an image's variants layer by layer into the cache. A layer already cached is reused. A
// missing layer that adds packages gets a root tree from mmdebstrap (its whole package set up to
// that layer, every version pinned); the base's tree becomes a file system whole, an upper layer's
// is synced onto a copy of its parent's file system. Declared users, rendered files and units go in
// (layer-setup.ts), times are clamped, and the result is stored as a qcow2 on its parent
// (qcow2-chain.ts). Before a layer is committed, its
// file system's own dpkg status must list exactly the locked packages.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LockedPackage } from "../lockfile.ts";
import { compareWithLock, formatMismatch, parseDpkgStatus, type InstalledPackage } from "./dpkg-status.ts";
import { cachedLayer, commitLayer, dropChildren, layerImage, stagingDir, sweepStaging, type LayerRecord } from "./layer-cache.ts";
import type { PlannedLayer } from "./layer-plan.ts";
import { HOST_SOURCES, runMmdebstrap } from "./mmdebstrap.ts";
import { flatten, fsBytesFor, growTo, mkfsFromDir, qcow2, qcow2Overlay, readFileFromFs, storedBytes, syncTree, unmount, withMounted } from "./qcow2-chain.ts";
import { applyLayerContents } from "./layer-setup.ts";
import { clampMtimes, contentDigest } from "./rootfs.ts";
import { running, toolOutput } from "./tools.ts";

export interface BuildContext {
  cache: string;
  sourceDateEpoch: number;
  sources?: string;
  log: (line: string) => void;
}

export interface BuiltLayer extends LayerRecord {
  cached: boolean;
  seconds: number;
}

/** Work in progress, undone when the process is interrupted. */
const inFlight = { mounts: new Set<string>(), dirs: new Set<string>() };

function cleanupInFlight(): void {
  // mmdebstrap mounts /proc, /sys and devices inside its target: it is stopped (it unmounts on
  // SIGTERM) and anything still mounted below our directories is detached before they are removed,
  // so removing them can never reach into the host's file systems.
  for (const child of running) child.kill("SIGTERM");
  if (running.size > 0) spawnSync("sleep", ["2"]);
  for (const m of inFlight.mounts) unmount(m);
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
    const { cache, log, sourceDateEpoch: epoch } = this.ctx;
    const tag = layer.digest.slice(7, 23);
    // A layer that adds packages gets a fresh root from mmdebstrap; one that only adds files starts from its parent.
    let root: string | undefined;
    if (layer.adds.length > 0 || layer.parent === undefined) {
      root = join(this.work, `root-${tag}`);
      log(`  ${layer.role} layer: mmdebstrap ${layer.cumulative.length} packages`);
      await runMmdebstrap({ suite, packages: layer.cumulative, target: root, sources: this.ctx.sources ?? HOST_SOURCES, debCache: this.debCache }, epoch);
    } else {
      log(`  ${layer.role} layer: ${layer.files.length} files on its parent`);
    }

    const staging = stagingDir(cache, layer.digest);
    inFlight.dirs.add(staging);
    const raw = join(this.work, `fs-${tag}.raw`);
    let rootfsDigest: string;
    if (layer.parent === undefined) {
      await applyLayerContents(root!, layer.files, layer.setup, epoch);
      clampMtimes(root!, epoch);
      rootfsDigest = contentDigest(root!);
      await mkfsFromDir(root!, raw, fsBytesFor(await usedBytes(root!)), layer.digest, epoch);
    } else {
      await flatten(layerImage(cache, layer.parent), raw);
      if (root !== undefined) await growTo(raw, fsBytesFor(await usedBytes(root)));
      const mnt = join(this.work, `mnt-${tag}`);
      inFlight.mounts.add(mnt);
      rootfsDigest = await withMounted(raw, mnt, async () => {
        if (root !== undefined) await syncTree(root, mnt);
        await applyLayerContents(mnt, layer.files, layer.setup, epoch);
        clampMtimes(mnt, epoch);
        return contentDigest(mnt);
      });
      inFlight.mounts.delete(mnt);
    }
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    // The image's own record of what is installed, read from the file system itself.
    const installed = parseDpkgStatus(await readFileFromFs(raw, "/var/lib/dpkg/status"));
    const mismatch = compareWithLock(installed, expected.map((p): InstalledPackage => ({ name: p.name, version: p.version, architecture: p.architecture })));
    if (mismatch) throw new Error(`the ${layer.role} layer's /var/lib/dpkg/status differs from the lock:\n${formatMismatch(mismatch)}`);
    const image = join(staging, "layer.qcow2");
    if (layer.parent === undefined) await qcow2(raw, image);
    else await qcow2Overlay(raw, image, layerImage(cache, layer.parent));
    const virtualBytes = statSync(raw).size;
    rmSync(raw, { force: true });
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
    commitLayer(cache, staging, record);
    inFlight.dirs.delete(staging);
    for (const child of dropChildren(cache, layer.digest)) log(`  removed cached layer ${child.slice(0, 19)}: its parent was rebuilt`);
    return record;
  }

  /** Removes this run's work and any staging a failed layer left (nothing committed is touched). */
  close(): void {
    for (const m of inFlight.mounts) unmount(m);
    for (const d of inFlight.dirs) if (unmountBelow(d)) rmSync(d, { recursive: true, force: true });
    inFlight.mounts.clear();
    inFlight.dirs.clear();
  }
}

async function usedBytes(root: string): Promise<number> {
  return Number((await toolOutput("du", ["-sb", root])).split(/\s/)[0]);
}
