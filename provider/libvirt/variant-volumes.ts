// A built variant on a libvirt host: its layers uploaded into the host's home pool once (named by
// content: `layer-<digest>.qcow2`) and shared by every instance booting it as backing files, and
// its kernel and initrd beside them for direct kernel boot. An upper layer's header names its
// parent's path in the layer cache; the copy uploaded names its parent's path in the pool instead.
// Upload is vol-create + vol-upload (it streams through the connection, so a qemu+ssh host works
// as a local one); a `<name>.ready` volume made after the upload says it is whole, so an upload
// killed half-way is made again, never booted from. Two processes (two stacks, two runs) uploading
// the same layer: the one that makes the volume uploads it, the other waits for its marker (or takes
// over a file whose upload stopped writing: killed).
// Removal: once no volume of the host's pool stands on a layer any more (read from the host, so the
// instances of every stack sharing the pool count), the layer goes, and the top layer's kernel and
// initrd once no root disk stands on it directly. A create in this process between its upload and
// its root disk pins the variant's files against a removal.
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootFilesOf } from "../../images/build/boot-files.ts";
import { cachedLayer, layerImage } from "../../images/build/layer-cache.ts";
import { runTool } from "../../images/build/tools.ts";
import { HOME_POOL, type LibvirtHosts } from "./hosts.ts";
import { LibvirtBackendError } from "./rules.ts";
import { hostLabel, type VirshConnection } from "./virsh.ts";

/** What a domain booting a built variant needs on its host: paths there. */
export interface VariantOnHost {
  /** The top layer: the instance's root disk is an overlay on it. */
  top: string;
  /** Size of the file system the layers hold (the root overlay's size). */
  virtualBytes: number;
  kernel: string;
  initrd: string;
}

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 16);

/**
 * Which image files of the pool go once the variants whose top layers are `tops` lost an instance:
 * each one's layers (top down its chain, as `backing` says the host holds it) that no other volume
 * stands on, down its chain (a root disk, another stack's volume, another variant's layer), and its
 * kernel and initrd when no other volume stands on its top layer. Kept too: what a create of this
 * process pinned, and what has no `.ready` marker (another process is uploading it). Top first.
 */
export function unusedImageFiles(names: readonly string[], backing: ReadonlyMap<string, string>, tops: Iterable<string>, pinned: (name: string) => boolean): string[] {
  const present = new Set(names);
  const keep = (n: string) => pinned(n) || !present.has(`${n}.ready`);
  const candidates = new Set<string>();
  const topList = [...tops];
  for (const top of topList) for (let at: string | undefined = layerVolume(top); at && present.has(at) && !candidates.has(at); at = backing.get(at)) candidates.add(at);
  for (const n of candidates) if (keep(n)) candidates.delete(n); // kept: a user of what it stands on, as any other volume
  const used = new Set<string>();
  const bootUsed = new Set<string>();
  for (const [name, parent] of backing) {
    if (candidates.has(name)) continue;
    bootUsed.add(parent);
    for (let at: string | undefined = parent; at && !used.has(at); at = backing.get(at)) used.add(at);
  }
  const doomed = [...candidates].filter((n) => !used.has(n));
  for (const top of topList) {
    // Its kernel and initrd go with its top layer's last user, unless that layer is kept for a create or an upload.
    const layer = layerVolume(top);
    if (!bootUsed.has(layer) && !(present.has(layer) && keep(layer))) doomed.push(...[kernelVolume(top), initrdVolume(top)].filter((n) => present.has(n) && !keep(n)));
  }
  return [...new Set(doomed)];
}

/** The volume names of a variant's files on a host (content-addressed, so every instance and stack shares them). */
export const layerVolume = (digest: string) => `layer-${short(digest)}.qcow2`;
export const kernelVolume = (digest: string) => `kernel-${short(digest)}`;
export const initrdVolume = (digest: string) => `initrd-${short(digest)}`;

/** The layers of the image whose top layer is `top`, bottom first (each layer's record names its parent). */
export function layerStack(cache: string, top: string): { digest: string; virtualBytes: number }[] {
  const stack: { digest: string; virtualBytes: number }[] = [];
  for (let digest: string | undefined = top; digest !== undefined; ) {
    const record = cachedLayer(cache, digest);
    if (!record) throw new LibvirtBackendError("invalid", `the image layer ${short(digest)} is not in the layer cache ${cache} any more; build the variant again ('virtform images build')`);
    stack.unshift({ digest, virtualBytes: record.virtualBytes });
    digest = record.parent;
  }
  return stack;
}

export class VariantVolumes {
  private readonly hosts: LibvirtHosts;
  private readonly cache: string;
  private readonly uploads = new Map<string, Promise<string>>();
  /** Per host and volume name: creates in this process using it now (uploaded, root disk not made yet). */
  private readonly pins = new Map<string, number>();
  /** Per host: the removal pass running, and the one queued behind it with the tops it will look at. */
  private readonly removals = new Map<string, { running?: Promise<void>; queued?: { tops: Set<string>; done: Promise<void> } }>();

  constructor(hosts: LibvirtHosts, cache: string) {
    this.hosts = hosts;
    this.cache = cache;
  }

  /**
   * The variant whose top layer is `top` on host `uri`, uploaded unless it is there already, and
   * pinned there (no removal takes its files) until `unpin()`: call it once the root disk on it exists.
   */
  async onHost(uri: string, top: string): Promise<VariantOnHost & { unpin(): void }> {
    const stack = layerStack(this.cache, top);
    const names = [...stack.map((l) => layerVolume(l.digest)), kernelVolume(top), initrdVolume(top)];
    // A removal under way on this host finishes before the pin, so it cannot take what this create uploads.
    for (let r = this.removals.get(uri); r?.running || r?.queued; r = this.removals.get(uri)) await (r.queued?.done ?? r.running)!.catch(() => undefined);
    for (const name of names) this.pins.set(`${uri}\n${name}`, (this.pins.get(`${uri}\n${name}`) ?? 0) + 1);
    let pinned = true;
    const unpin = () => {
      if (!pinned) return;
      pinned = false;
      for (const name of names) {
        const key = `${uri}\n${name}`;
        const left = (this.pins.get(key) ?? 1) - 1;
        if (left > 0) this.pins.set(key, left);
        else this.pins.delete(key);
      }
    };
    try {
      let parent: string | undefined;
      for (const layer of stack) parent = await this.uploadOnce(uri, layerVolume(layer.digest), layerImage(this.cache, layer.digest), parent);
      const boot = await bootFilesOf(this.cache, top);
      const [kernel, initrd] = await Promise.all([this.uploadOnce(uri, kernelVolume(top), boot.kernel), this.uploadOnce(uri, initrdVolume(top), boot.initrd)]);
      return { top: parent!, virtualBytes: stack.at(-1)!.virtualBytes, kernel, initrd, unpin };
    } catch (err) {
      unpin();
      throw err;
    }
  }

  /**
   * After an instance booting the variant `top` left host `uri`: removes that variant's layers no
   * volume of the pool stands on any more, and its kernel and initrd when no root disk stands on
   * its top layer. Requests while a pass runs share the one pass queued after it (a destroy of many
   * instances reads the pool a few times, not once per instance), which starts after their own
   * root disks are gone.
   */
  removeUnused(uri: string, top: string): Promise<void> {
    let r = this.removals.get(uri);
    if (!r) this.removals.set(uri, (r = {}));
    const state = r;
    if (state.queued) {
      state.queued.tops.add(top);
      return state.queued.done;
    }
    if (!state.running) return this.startPass(uri, state, new Set([top]));
    const tops = new Set([top]);
    const done = state.running.catch(() => undefined).then(() => {
      state.queued = undefined;
      return this.startPass(uri, state, tops);
    });
    state.queued = { tops, done };
    return done;
  }

  private startPass(uri: string, state: { running?: Promise<void> }, tops: Set<string>): Promise<void> {
    const running = this.removePass(uri, tops).finally(() => {
      if (state.running === running) delete state.running;
    });
    state.running = running;
    return running;
  }

  private async removePass(uri: string, tops: Set<string>): Promise<void> {
    const c = this.hosts.connection(uri);
    const [list] = await c.batch([["vol-list", HOME_POOL]]);
    if (!list!.ok) return; // no home pool: nothing of ours there
    const names = list!.out.split("\n").map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
    // What each volume stands on (its backing file), by volume name: one batch for the whole pool.
    const readable = names.filter((n) => !n.endsWith(".ready") && !/^(kernel|initrd)-/.test(n));
    const xmls = await c.batch(readable.map((n) => ["vol-dumpxml", n, "--pool", HOME_POOL]));
    const backing = new Map<string, string>();
    for (const [i, name] of readable.entries()) {
      const path = xmls[i]!.ok ? /<backingStore>\s*<path>([^<]+)<\/path>/.exec(xmls[i]!.out)?.[1] : undefined;
      if (path) backing.set(name, path.slice(path.lastIndexOf("/") + 1));
    }
    const doomed = unusedImageFiles(names, backing, tops, (n) => this.pins.has(`${uri}\n${n}`));
    for (const name of doomed) {
      this.uploads.delete(`${uri}\n${name}`);
      // The marker first: a file without it is never booted from, only uploaded again.
      for (const victim of [`${name}.ready`, name]) {
        const [r] = await c.batch([["vol-delete", victim, "--pool", HOME_POOL]]);
        if (!r!.ok && !/not found|no storage vol/i.test(r!.error)) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: cannot remove the unused image file ${victim}: ${r!.error}`);
      }
    }
  }

  /** One upload per host and name in this process; its path on the host. */
  private uploadOnce(uri: string, name: string, file: string, backing?: string): Promise<string> {
    const key = `${uri}\n${name}`;
    let pending = this.uploads.get(key);
    if (!pending) {
      pending = this.upload(uri, name, file, backing);
      pending.catch(() => this.uploads.delete(key));
      this.uploads.set(key, pending);
    }
    return pending;
  }

  private async upload(uri: string, name: string, file: string, backing: string | undefined): Promise<string> {
    const c = this.hosts.connection(uri);
    const [ready, path] = await c.batch([["vol-info", `${name}.ready`, "--pool", HOME_POOL], ["vol-path", name, "--pool", HOME_POOL]]);
    if (ready!.ok && path!.ok) return path!.out.trim();
    const work = mkdtempSync(join(tmpdir(), "virtform-upload-"));
    try {
      let source = file;
      if (backing !== undefined) {
        // Only the header changes (unsafe rebase: the parent's bytes are the same, only its path differs).
        source = join(work, name);
        copyFileSync(file, source);
        await runTool("qemu-img", ["rebase", "-u", "-f", "qcow2", "-b", backing, "-F", "qcow2", source]);
      }
      // Whoever makes the volume uploads it (libvirt makes a name once); another process finds it
      // made and waits for its marker, or takes over a file no upload writes to any more.
      let hostNow: number | undefined;
      for (let watched: { mtime: string; since: number } | undefined; ; ) {
        const [claim] = await c.batch([["vol-create-as", HOME_POOL, name, `${statSync(source).size}`, "--format", "raw"]]);
        if (claim!.ok) break;
        if (!/exists/i.test(claim!.error)) throw new Error(claim!.error);
        const [marker, xml] = await c.batch([["vol-info", `${name}.ready`, "--pool", HOME_POOL], ["vol-dumpxml", name, "--pool", HOME_POOL]]);
        if (marker!.ok && xml!.ok) return (await c.run("vol-path", name, "--pool", HOME_POOL)).trim();
        const mtime = xml!.ok ? /<mtime>([^<]+)<\/mtime>/.exec(xml!.out)?.[1] : undefined;
        if (mtime === undefined) continue; // gone meanwhile: claim it again
        if (watched?.mtime !== mtime) watched = { mtime, since: Date.now() };
        hostNow ??= await hostTime(c);
        if (abandoned(mtime, watched.since, hostNow)) {
          await c.batch([["vol-delete", name, "--pool", HOME_POOL]]); // a killed upload's file
          watched = undefined;
          continue;
        }
        await new Promise((r) => setTimeout(r, UPLOAD_POLL_MS));
      }
      await c.run("vol-upload", name, source, "--pool", HOME_POOL);
      await c.run("vol-create-as", HOME_POOL, `${name}.ready`, "0", "--format", "raw");
      return (await c.run("vol-path", name, "--pool", HOME_POOL)).trim();
    } catch (err) {
      throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: cannot upload ${name} of the image: ${(err as Error).message}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

const UPLOAD_POLL_MS = 250;
/** An upload writes its file all along: one unchanged this long, while watched, is a killed upload's. */
const UPLOAD_STALL_MS = 30_000;
/**
 * Or last written this long before the host's own time (a killed run's file, found by the next run).
 * The host's clock, not ours: a remote host's may be minutes off.
 */
const UPLOAD_STALE_S = 120;

/**
 * Whether a file being uploaded (its mtime on the host, in seconds; watched unchanged since `since`)
 * was left by an upload that died; `hostNow`: the host's time in seconds, when known.
 */
export function abandoned(mtime: string, since: number, hostNow: number | undefined, now = Date.now()): boolean {
  return now - since > UPLOAD_STALL_MS || (hostNow !== undefined && Number(mtime) < hostNow - UPLOAD_STALE_S);
}

/** The host's time, in seconds: the mtime of a file made for it in the home pool (libvirt has no clock command). */
async function hostTime(c: VirshConnection): Promise<number | undefined> {
  const probe = `vf-clock-${process.pid}-${Date.now()}.probe`;
  const [made] = await c.batch([["vol-create-as", HOME_POOL, probe, "0", "--format", "raw"]]);
  if (!made!.ok) return undefined;
  const [xml] = await c.batch([["vol-dumpxml", probe, "--pool", HOME_POOL], ["vol-delete", probe, "--pool", HOME_POOL]]);
  const mtime = xml!.ok ? Number(/<mtime>([^<]+)<\/mtime>/.exec(xml!.out)?.[1]) : NaN;
  return Number.isFinite(mtime) ? mtime : undefined;
}
