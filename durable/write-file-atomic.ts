// Atomic replace: the new content goes to a temp file in the same directory, is fsynced, renamed
// over the old file, and the directory is fsynced, so after a crash the path holds either the old
// content or the new one, whole, and a rename that returned survives a power loss.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export interface AtomicWriteOptions {
  /** The file's mode (e.g. 0o600 for a key); the temp file has it from creation on, so the key is never wider. */
  mode?: number;
}

/** The temp file's name: beside the target (a rename across filesystems is not atomic), one per process. */
function tempOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const temp = tempOf(path);
  try {
    // "w" with a mode only applies it to a new file: a leftover temp is removed first.
    rmSync(temp, { force: true });
    const fd = openSync(temp, "w", options.mode ?? 0o666);
    try {
      writeFileSync(fd, data); // loops until all is written
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectorySync(dirname(path));
}

/** The same, without blocking the event loop (the thin pool commits its metadata while serving I/O). */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempOf(path);
  try {
    await rm(temp, { force: true });
    const file = await open(temp, "w", options.mode ?? 0o666);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/** Makes a rename, or a file created or removed, in `dir` durable. */
export function fsyncDirectorySync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
