// The in-memory state of an open thin pool, shared by its lifecycle (thin-pool.ts), its data path
// (volume-io.ts) and its metadata commit (pool-commit.ts); each of them owns the fields it changes.

import type { ChunkAllocator } from "./chunk-allocator.ts";
import type { LunFiles } from "./lun-files.ts";
import type { PoolLimits, VolumeKind } from "./pool-metadata.ts";

export interface Volume {
  id: string;
  kind: VolumeKind;
  sizeBytes: number;
  readOnly: boolean;
  origin?: string;
  createdAt: string;
  /** Volume chunk index -> global slot id. */
  chunks: Map<number, number>;
  deleted: boolean;
}

export interface PoolState {
  readonly dir: string;
  readonly limits: PoolLimits;
  /** Replaced when the pool grows (slot ids are renumbered). */
  allocator: ChunkAllocator;
  readonly luns: LunFiles;
  readonly volumes: Map<string, Volume>;
  /** A volume map or a limit changed since the last metadata commit. */
  metadataDirty: boolean;
  closed: boolean;
  /** Parallel reads still copying from LUN files (they pin their slots). */
  readonly readsInFlight: Set<Promise<unknown>>;
}
