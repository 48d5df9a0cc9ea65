// Bounds on the sizes that become bytes on disk (pool devices, volumes, local disks). Without them a
// 1e-300 GiB volume or a 1e9 GiB device passed validation and failed, or silently did nothing, later.
import { z } from "zod";

/** 1 MiB: one chunk of a thin pool, the smallest LUN or volume that holds bytes. */
export const MIN_SIZE_GIB = 1 / 1024;
/** 1 PiB: far beyond any single device or volume of the emulator's host (ext4 files stop at 16 TiB). */
export const MAX_SIZE_GIB = 1024 * 1024;
/** LUNs per pool: each is a file the pool keeps open; Linux's SCSI layer scans 512 LUNs per target by default. */
export const MAX_DEVICES_PER_POOL = 256;

// Worded as zod words its own bounds, in units a reader checks at a glance.
const TOO_SMALL = "Too small: expected number to be >=1 MiB (1/1024 GiB)";
const TOO_BIG = `Too big: expected number to be <=${MAX_SIZE_GIB} GiB (1 PiB)`;

/** A size in GiB between 1 MiB and 1 PiB. */
export function sizeGiB() {
  return z
    .number()
    .min(MIN_SIZE_GIB, { error: TOO_SMALL })
    .max(MAX_SIZE_GIB, { error: TOO_BIG });
}

/** A size in GiB that may be 0 (none), else between 1 MiB and 1 PiB: local disks. */
export function optionalSizeGiB() {
  return z
    .number()
    .min(0)
    .max(MAX_SIZE_GIB, { error: TOO_BIG })
    .refine((gib) => gib === 0 || gib >= MIN_SIZE_GIB, { error: "Too small: expected number to be 0 (none) or >=1 MiB (1/1024 GiB)" });
}
