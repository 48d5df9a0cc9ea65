// A root file system tree: the rendered files written into it, times clamped, and a digest over its
// content (paths, types, modes, owners, times, link targets and file bytes; the top lost+found left
// out) that two builds of the same layer with the same SOURCE_DATE_EPOCH must agree on. The base
// layer digests its whole tree; an upper layer digests only what it changed (the entries whose
// inode changed while it was built: ctime is set by the kernel, no tool can set it back), chained
// to its parent's digest, so its cost follows the layer's size, not the image's.
import { createHash, type Hash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, type Stats, lutimesSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { RenderedFile } from "./config-render.ts";
import { setXmlAttributes } from "./xml-edit.ts";

export function writeRenderedFiles(root: string, files: readonly RenderedFile[]): void {
  for (const f of files) {
    const target = join(root, f.path);
    if (f.edit !== undefined) {
      // Written in place: the packaged file's mode and owner (root:tomcat 0640, say) stay.
      if (!existsSync(target)) throw new Error(`${f.path}: not in the image, so its ${f.edit.element} cannot be set (is its package in the variant?)`);
      try {
        writeFileSync(target, setXmlAttributes(readFileSync(target, "utf8"), f.edit));
      } catch (err) {
        throw new Error(`${f.path}: ${(err as Error).message}`);
      }
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { force: true });
    if (f.symlink !== undefined) symlinkSync(f.symlink, target);
    else {
      writeFileSync(target, f.content ?? "");
      chmodSync(target, f.mode);
    }
  }
}

/** The entry at `rel`: its metadata, and its bytes, link target or device number (a directory's own line only). */
function hashEntry(hash: Hash, root: string, rel: string, st: Stats): void {
  const abs = join(root, rel);
  hash.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${Math.floor(st.mtimeMs / 1000)}\0`);
  if (st.isSymbolicLink()) hash.update(readlinkSync(abs));
  else if (st.isFile()) hash.update(readFileSync(abs));
  else if (st.isCharacterDevice() || st.isBlockDevice()) hash.update(String(st.rdev));
}

/** Names in a directory of the tree, sorted; ext4's lost+found is the file system's, not the tree's (a directory and its mounted file system digest alike). */
function entries(root: string, rel: string): string[] {
  return readdirSync(join(root, rel))
    .filter((name) => rel !== "" || name !== "lost+found")
    .sort();
}

const child = (rel: string, name: string) => (rel === "" ? name : `${rel}/${name}`);

export function contentDigest(root: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string) => {
    const st = lstatSync(join(root, rel));
    hashEntry(hash, root, rel, st);
    if (st.isDirectory()) for (const name of entries(root, rel)) walk(child(rel, name));
    hash.update("\n");
  };
  walk("");
  return `sha256:${hash.digest("hex")}`;
}

/** Paths (relative, in walk order) of the entries whose inode changed at or after `sinceMs`: what a build step created, wrote, chmod'ed or renamed. */
export function changedSince(root: string, sinceMs: number): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const st = lstatSync(join(root, rel));
    if (st.ctimeMs >= sinceMs) out.push(rel);
    if (st.isDirectory()) for (const name of entries(root, rel)) walk(child(rel, name));
  };
  walk("");
  return out;
}

/**
 * An upper layer's root file system digest: its parent's, then each entry it changed (a changed
 * directory with its names, so what the layer removed counts too).
 */
export function layerContentDigest(parentDigest: string, root: string, changed: readonly string[]): string {
  const hash = createHash("sha256").update(`${parentDigest}\n`);
  for (const rel of changed) {
    const st = lstatSync(join(root, rel));
    hashEntry(hash, root, rel, st);
    if (st.isDirectory()) hash.update(entries(root, rel).join("\0"));
    hash.update("\n");
  }
  return `sha256:${hash.digest("hex")}`;
}

/** clampMtimes for the entries at `paths` only (what a layer changed). */
export function clampMtimesOf(root: string, paths: readonly string[], epoch: number): void {
  for (const rel of paths) {
    const abs = join(root, rel);
    if (lstatSync(abs).mtimeMs / 1000 > epoch) lutimesSync(abs, epoch, epoch);
  }
}

/** As `tar --clamp-mtime`: nothing newer than SOURCE_DATE_EPOCH, so files maintainer scripts wrote carry the same time in every build. */
export function clampMtimes(root: string, epoch: number): void {
  const walk = (abs: string) => {
    const st = lstatSync(abs);
    if (st.isDirectory()) for (const name of readdirSync(abs)) if (abs !== root || name !== "lost+found") walk(join(abs, name));
    if (st.mtimeMs / 1000 > epoch) lutimesSync(abs, epoch, epoch);
  };
  walk(root);
}
