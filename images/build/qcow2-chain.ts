// A layer on disk: an ext4 file system stored as qcow2. The base layer is made whole (mkfs.ext4 -d
// from its root directory). An upper layer is an empty qcow2 on its parent, mounted and written
// into (overlay-mount.ts): it holds the clusters the layer wrote, nothing of its parent.
import { statSync, truncateSync, writeFileSync } from "node:fs";
import { runTool, toolOutput } from "./tools.ts";

/** The base file system's size; an upper layer that needs more grows it (resize2fs, overlay-mount.ts). */
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

/**
 * An empty qcow2 of `bytes` on its parent, named by `backing`: a path relative to the new file's
 * directory (`../<digest>/layer.qcow2`), so the cache can move as a whole.
 */
export async function qcow2Overlay(out: string, backing: string, bytes: number): Promise<void> {
  await runTool("qemu-img", ["create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", out, String(bytes)]);
}

/** A layer's file system as a raw file (its whole backing chain flattened; the boot test reads its /boot). */
export async function flatten(layer: string, raw: string): Promise<void> {
  await runTool("qemu-img", ["convert", "-q", "-O", "raw", "-f", "qcow2", layer, raw]);
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

