// Whether a directory's filesystem can hold LUN files of given sizes, asked before a pool is
// recorded. LUN files are sparse, so free space is not the limit that bites: the filesystem's
// largest file is (ext4: 16 TiB with 4 KiB blocks), and only a real ftruncate says it for sure.
// Without this check a 20,000 GiB device was recorded as created while its LUN file stayed empty.
import { closeSync, ftruncateSync, openSync, statfsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { StorageError } from "./block-device.ts";
import { CHUNK_SIZE_BYTES } from "./chunk-span.ts";

const GiB = 1024 ** 3;

/** Names of common filesystems by their statfs magic number, for error messages. */
const FILESYSTEMS = new Map<number, string>([
  [0xef53, "ext4"],
  [0x58465342, "xfs"],
  [0x9123683e, "btrfs"],
  [0x01021994, "tmpfs"],
  [0x794c7630, "overlayfs"],
  [0x2fc12fc1, "zfs"],
  [0x6969, "nfs"],
]);

export interface LunRequest {
  /** How the caller names it: "device 0 of pool pool.fast". */
  what: string;
  sizeBytes: number;
}

/**
 * Throws a StorageError naming the first LUN the filesystem of `dir` cannot hold: when it lacks
 * the room to start a pool (space for its metadata and a chunk per LUN, an inode per file), or
 * refuses a file of the LUN's size.
 */
export function checkLunSpace(dir: string, luns: readonly LunRequest[]): void {
  if (luns.length === 0) return;
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  const where = `the filesystem of ${dir} (${FILESYSTEMS.get(fs.type) ?? `type 0x${fs.type.toString(16)}`}, ${formatBytes(free)} free)`;
  const needed = (luns.length + 1) * CHUNK_SIZE_BYTES;
  if (free < needed) {
    throw new StorageError("ENOSPC", `${luns[0]!.what} cannot be created: ${where} lacks the ${formatBytes(needed)} a pool needs to start`);
  }
  // The pool's directory, its LUN files, pool.json, its temp file and the lock (0 files: no limit).
  const inodes = luns.length + 4;
  if (fs.files > 0 && fs.ffree < inodes) {
    throw new StorageError("ENOSPC", `${luns[0]!.what} cannot be created: ${where} has ${fs.ffree} free inodes, a pool needs ${inodes}`);
  }
  // The largest LUN decides: a filesystem that holds one file of that size holds the smaller ones.
  const largest = luns.reduce((a, b) => (b.sizeBytes > a.sizeBytes ? b : a));
  const probe = join(dir, `.lun-probe-${process.pid}-${Date.now()}`);
  const fd = openSync(probe, "wx");
  try {
    ftruncateSync(fd, largest.sizeBytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new StorageError(
      code === "ENOSPC" ? "ENOSPC" : "EFBIG",
      `${largest.what} (${formatBytes(largest.sizeBytes)}) cannot exist on ${where}: a file of that size is refused (${code}); declare smaller devices or put the emulator's data on a filesystem that holds larger files`,
    );
  } finally {
    closeSync(fd);
    unlinkSync(probe);
  }
}

function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${+(bytes / GiB).toFixed(1)} GiB` : `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
