// The pool's metadata file (pool.json): LUNs, limits and every volume's chunk map as extents.
// Written with writeFileAtomicAsync (temp file, fsync, rename, directory fsync), so a crash at any
// moment leaves either the previous or the new version, never a torn one.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomicAsync } from "../../durable/write-file-atomic.ts";

export const METADATA_FILE = "pool.json";
export const METADATA_FORMAT = "virtform-thin-pool";

/** A run of consecutive volume chunks stored on consecutive slots of one LUN. */
export const extentSchema = z.object({
  chunk: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  lun: z.number().int().nonnegative(),
  slot: z.number().int().nonnegative(),
});
export type Extent = z.infer<typeof extentSchema>;

export const volumeKindSchema = z.enum(["volume", "snapshot", "clone"]);
export type VolumeKind = z.infer<typeof volumeKindSchema>;

export const volumeRecordSchema = z.object({
  id: z.string().min(1),
  kind: volumeKindSchema,
  sizeBytes: z.number().int().nonnegative(),
  readOnly: z.boolean(),
  /** The volume a snapshot or clone was taken from (it may since have been deleted). */
  origin: z.string().optional(),
  createdAt: z.string(),
  extents: z.array(extentSchema),
});
export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

export const lunRecordSchema = z.object({
  index: z.number().int().nonnegative(),
  file: z.string().min(1),
  sizeBytes: z.number().int().positive(),
  /** See LunGeometry.highWater; only trusted when the pool was closed cleanly. */
  highWater: z.number().int().nonnegative(),
});
export type LunRecord = z.infer<typeof lunRecordSchema>;

export const poolLimitsSchema = z.object({
  /** Sum of volume sizes may reach capacity x overcommit. */
  overcommit: z.number().min(1),
  maxVolumeSizeBytes: z.number().int().positive().optional(),
  maxVolumes: z.number().int().positive().optional(),
});
export type PoolLimits = z.infer<typeof poolLimitsSchema>;

export const poolMetadataSchema = z.object({
  format: z.literal(METADATA_FORMAT),
  version: z.literal(1),
  chunkSizeBytes: z.number().int().positive(),
  limits: poolLimitsSchema,
  /** True only when written by close(): then the LUN high-water marks are exact. */
  cleanShutdown: z.boolean(),
  /** Bumped on every commit; lets tests and operators see that a commit happened. */
  generation: z.number().int().nonnegative(),
  luns: z.array(lunRecordSchema).min(1),
  volumes: z.array(volumeRecordSchema),
});
export type PoolMetadata = z.infer<typeof poolMetadataSchema>;

export async function readPoolMetadata(dir: string): Promise<PoolMetadata> {
  const path = join(dir, METADATA_FILE);
  const text = await readFile(path, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is damaged: ${(err as Error).message}`);
  }
  const parsed = poolMetadataSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${path} is not a valid thin-pool metadata file: ${parsed.error.message}`);
  }
  return parsed.data;
}

export async function writePoolMetadata(dir: string, metadata: PoolMetadata): Promise<void> {
  await writeFileAtomicAsync(join(dir, METADATA_FILE), JSON.stringify(metadata));
}

/** Makes a rename or a newly created file in `dir` durable (the thin pool's LUN files). */
export { fsyncDirectory } from "../../durable/write-file-atomic.ts";

/** Run-length encodes a chunk map (chunk index -> LUN/slot) into sorted extents. */
export function toExtents(
  map: Iterable<[number, { lun: number; slot: number }]>,
): Extent[] {
  const entries = [...map].sort((a, b) => a[0] - b[0]);
  const extents: Extent[] = [];
  let last: Extent | undefined;
  for (const [chunk, { lun, slot }] of entries) {
    if (
      last !== undefined &&
      last.lun === lun &&
      last.chunk + last.count === chunk &&
      last.slot + last.count === slot
    ) {
      last.count++;
    } else {
      last = { chunk, count: 1, lun, slot };
      extents.push(last);
    }
  }
  return extents;
}
