// The content-addressed layer cache: one directory per layer digest, holding layer.qcow2 (whose
// backing file is its parent's layer.qcow2 in the same cache, named by a relative path, so the
// cache can be moved or copied whole) and layer.json (what it holds). A
// layer is built in a `.tmp-*` directory and renamed into place when whole, so an interrupted build
// never leaves a half-written layer under its digest; leftovers of dead builds are swept away.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface LayerRecord {
  digest: string;
  role: string;
  parent?: string;
  /** "name=version" this layer adds. */
  adds: string[];
  /** Paths of the rendered files it adds. */
  files: string[];
  /** Content digest of its root file system (see rootfs.ts). */
  rootfsDigest: string;
  /** Bytes its qcow2 takes on disk. */
  storedBytes: number;
  /** Size of the file system it holds. */
  virtualBytes: number;
}

/** VIRTFORM_IMAGE_CACHE, else ~/.cache/virtform/images (under XDG_CACHE_HOME when set). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTFORM_IMAGE_CACHE) return env.VIRTFORM_IMAGE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "virtform", "images");
}

const hex = (digest: string) => digest.replace(/^sha256:/, "");

export function layerDir(cache: string, digest: string): string {
  return join(cache, hex(digest));
}

export function layerImage(cache: string, digest: string): string {
  return join(layerDir(cache, digest), "layer.qcow2");
}

/** How a layer's qcow2 names its parent's: relative to its own directory (a staging directory and a layer's are both directly in the cache). */
export function backingReference(parent: string): string {
  return `../${hex(parent)}/layer.qcow2`;
}

export function cachedLayer(cache: string, digest: string): LayerRecord | undefined {
  const meta = join(layerDir(cache, digest), "layer.json");
  if (!existsSync(meta) || !existsSync(layerImage(cache, digest))) return undefined;
  return JSON.parse(readFileSync(meta, "utf8")) as LayerRecord;
}

/** A fresh temporary directory for building `digest`, inside the cache (same file system as its final place). */
export function stagingDir(cache: string, digest: string): string {
  const dir = join(cache, `.tmp-${hex(digest).slice(0, 16)}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Moves a whole staged layer to its digest's place, its bytes on disk first: the build's
 * qemu-storage-daemon ignores flushes (overlay-mount.ts), and a layer under its digest is trusted.
 */
export function commitLayer(cache: string, staging: string, record: LayerRecord): void {
  writeFileSync(join(staging, "layer.json"), JSON.stringify(record, null, 2) + "\n");
  syncTree(staging);
  const final = layerDir(cache, record.digest);
  rmSync(final, { recursive: true, force: true }); // a layer.json without its image, say
  renameSync(staging, final);
  syncPath(cache);
}

function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) syncTree(join(dir, entry.name));
    else if (entry.isFile()) syncPath(join(dir, entry.name));
  }
  syncPath(dir);
}

function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes staging directories whose build process is gone. */
export function sweepStaging(cache: string): string[] {
  if (!existsSync(cache)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(cache)) {
    const m = /^\.tmp-[0-9a-f]+-(\d+)$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    rmSync(join(cache, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftovers are from an earlier run with a reused pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes cached layers stored on `parent` (and theirs): an overlay is only valid on its parent's
 * exact bytes, so when a parent is built anew (it was missing) its old children must go.
 */
export function dropChildren(cache: string, parent: string): string[] {
  const records = readdirSync(cache)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .map((n) => cachedLayer(cache, `sha256:${n}`))
    .filter((r): r is LayerRecord => r !== undefined);
  const dropped: string[] = [];
  const drop = (digest: string) => {
    for (const child of records.filter((r) => r.parent === digest)) {
      rmSync(layerDir(cache, child.digest), { recursive: true, force: true });
      dropped.push(child.digest);
      drop(child.digest);
    }
  };
  drop(parent);
  return dropped;
}
