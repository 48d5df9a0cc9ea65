// A layer on disk: an ext4 file system stored as qcow2. The base layer is made whole (mkfs.ext4 -d
// from its root directory). An upper layer starts as a raw copy of its parent's file system; the
// files that differ from the layer's root directory are synced into it (rsync --checksum: unchanged
// files are not rewritten, so their blocks stay where the parent has them). The overlay then gets
// exactly the clusters that differ from the parent: an empty qcow2 whose backing file is the new raw
// file system is rebased (safe mode) onto the parent, which copies into it each cluster where the
// two differ. (`qemu-img convert -B parent` would not do: it copies every allocated cluster.)
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { runTool, toolOutput } from "./tools.ts";

/** The base file system's size; an upper layer that needs more grows it (resize2fs). */
export const BASE_FS_BYTES = 2 * 1024 ** 3;

/** A file system size with room for `usedBytes`: at least the base size, in whole GiB. */
export function fsBytesFor(usedBytes: number): number {
  const want = Math.ceil(usedBytes * 1.3) + 256 * 1024 ** 2;
  return Math.max(BASE_FS_BYTES, Math.ceil(want / 1024 ** 3) * 1024 ** 3);
}

/** UUID-shaped text from a digest, so mkfs makes the same superblock for the same layer. */
export function uuidFrom(digest: string): string {
  const h = digest.replace(/^sha256:/, "");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function mkfsFromDir(root: string, raw: string, bytes: number, digest: string, epoch: number): Promise<void> {
  writeFileSync(raw, "");
  truncateSync(raw, bytes);
  const uuid = uuidFrom(digest);
  await runTool("mkfs.ext4", ["-q", "-F", "-L", "root", "-U", uuid, "-E", `hash_seed=${uuid},lazy_itable_init=0`, "-d", root, raw], {
    E2FSPROGS_FAKE_TIME: String(epoch),
  });
}

/** The whole file system in `raw` as a qcow2 (the base layer). */
export async function qcow2(raw: string, out: string): Promise<void> {
  await runTool("qemu-img", ["convert", "-q", "-O", "qcow2", "-f", "raw", raw, out]);
}

/** A qcow2 on `parent` holding only the clusters where `raw` differs from it. */
export async function qcow2Overlay(raw: string, out: string, parent: string): Promise<void> {
  await runTool("qemu-img", ["create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", out]);
  await runTool("qemu-img", ["rebase", "-q", "-f", "qcow2", "-b", parent, "-F", "qcow2", out]);
}

/** The parent layer's file system as a raw file (its whole backing chain flattened). */
export async function flatten(layer: string, raw: string): Promise<void> {
  await runTool("qemu-img", ["convert", "-q", "-O", "raw", "-f", "qcow2", layer, raw]);
}

/** Grows the file system in `raw` to `bytes` when it is smaller. */
export async function growTo(raw: string, bytes: number): Promise<void> {
  if (statSync(raw).size >= bytes) return;
  truncateSync(raw, bytes);
  await runTool("resize2fs", ["-f", raw]); // -f: the copy is clean, it was just made from a finished layer
}

/** Runs `fn` with the file system in `raw` mounted at `mountpoint`; unmounts whatever happens. */
export async function withMounted<T>(raw: string, mountpoint: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(mountpoint, { recursive: true });
  await runTool("mount", ["-o", "loop", raw, mountpoint]);
  try {
    return await fn();
  } finally {
    unmount(mountpoint);
  }
}

/** Makes the tree at `target` exactly the tree at `root`, rewriting only files whose content differs. */
export async function syncTree(root: string, target: string): Promise<void> {
  await runTool("rsync", ["-aHAX", "--checksum", "--delete", "--numeric-ids", "--exclude=/lost+found", `${root}/`, `${target}/`]);
}

/** Synchronous, so it also runs from a signal handler. */
export function unmount(mountpoint: string): void {
  try {
    execFileSync("umount", [mountpoint], { stdio: "ignore" });
  } catch {
    // not mounted
  }
}

/** A file of the file system in `raw`, read with debugfs (no mount). */
export async function readFileFromFs(raw: string, path: string): Promise<string> {
  return toolOutput("debugfs", ["-R", `cat ${path}`, raw]);
}

/** Copies a file out of the file system in `raw` to `out`. */
export async function dumpFromFs(raw: string, path: string, out: string): Promise<void> {
  await runTool("debugfs", ["-R", `dump ${path} ${out}`, raw]);
}

/** Names in a directory of the file system in `raw`. */
export async function listFs(raw: string, dir: string): Promise<string[]> {
  const text = await toolOutput("debugfs", ["-R", `ls -p ${dir}`, raw]);
  // -p: "/inode/mode/uid/gid/name/size/"
  return text
    .split("\n")
    .map((l) => l.split("/")[5])
    .filter((n): n is string => n !== undefined && n !== "" && n !== "." && n !== "..");
}

/** Bytes a qcow2 file takes on disk. */
export function storedBytes(file: string): number {
  return statSync(file).blocks * 512;
}

