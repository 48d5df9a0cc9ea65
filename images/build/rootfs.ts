// A root file system tree: the rendered files written into it, times clamped, and a digest over its
// content (paths, types, modes, owners, times, link targets and file bytes; the top lost+found left
// out) that two builds of the same layer with the same SOURCE_DATE_EPOCH must agree on.
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { RenderedFile } from "./config-render.ts";

export function writeRenderedFiles(root: string, files: readonly RenderedFile[]): void {
  for (const f of files) {
    const target = join(root, f.path);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { force: true });
    if (f.symlink !== undefined) symlinkSync(f.symlink, target);
    else {
      writeFileSync(target, f.content ?? "");
      chmodSync(target, f.mode);
    }
  }
}

export function contentDigest(root: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string) => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    hash.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${Math.floor(st.mtimeMs / 1000)}\0`);
    if (st.isSymbolicLink()) hash.update(readlinkSync(abs));
    else if (st.isFile()) hash.update(readFileSync(abs));
    else if (st.isCharacterDevice() || st.isBlockDevice()) hash.update(String(st.rdev));
    else if (st.isDirectory()) {
      // ext4's lost+found is the file system's, not the tree's: a directory and its mounted file system digest alike.
      for (const name of readdirSync(abs).sort()) if (rel !== "" || name !== "lost+found") walk(rel === "" ? name : `${rel}/${name}`);
    }
    hash.update("\n");
  };
  walk("");
  return `sha256:${hash.digest("hex")}`;
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
