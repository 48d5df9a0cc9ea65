// How the control plane's objects are named and sized in the data plane's thin pools.

import type { InstanceObject } from "../data.ts";
import { CHUNK_SIZE_BYTES } from "../block/chunk-span.ts";
import { SECTOR_BYTES } from "../block/volume-catalog.ts";

const GiB = 1024 ** 3;

/**
 * The thin volume holding an instance's local disk. The lifecycle bumps `localDiskEpoch` whenever
 * the bytes are gone (stop, terminate): a new epoch is a new, empty volume and the old one is freed.
 */
export function localDiskId(instance: InstanceObject): string {
  return `${instance.id}.${instance.localDiskEpoch ?? 0}`;
}

/** Volume sizes in bytes: whole sectors. */
export function volumeBytes(sizeGiB: number): number {
  return Math.ceil((sizeGiB * GiB) / SECTOR_BYTES) * SECTOR_BYTES;
}

/** LUN sizes in bytes: whole chunks, at least one. */
export function lunBytes(sizeGiB: number): number {
  return Math.max(CHUNK_SIZE_BYTES, Math.floor((sizeGiB * GiB) / CHUNK_SIZE_BYTES) * CHUNK_SIZE_BYTES);
}

/** The store (thin pool directory under the data dir) of a storage pool, and of a host's local disks. */
export const poolStoreKey = (poolId: string) => `pools/${poolId}`;
export const hostStoreKey = (hostId: string) => `local/${hostId}`;
