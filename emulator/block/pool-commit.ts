// The pool's single durability path: fsync the LUN files written, then replace pool.json.

import type { ChunkAllocator } from "./chunk-allocator.ts";
import { CHUNK_SIZE_BYTES } from "./chunk-span.ts";
import { type Extent, type PoolMetadata, METADATA_FORMAT, toExtents, writePoolMetadata } from "./pool-metadata.ts";
import type { PoolState, Volume } from "./pool-state.ts";

export class PoolCommitter {
  private readonly state: PoolState;
  private generation: number;
  private chain: Promise<void> = Promise.resolve();
  private running = 0;

  constructor(state: PoolState, generation: number) {
    this.state = state;
    this.generation = generation;
  }

  /** No commit is queued or running (no allocator commit ticket is outstanding). */
  get idle(): boolean {
    return this.running === 0;
  }

  /** Resolves when the commits queued so far have finished (never rejects). */
  drained(): Promise<void> {
    return this.chain;
  }

  /**
   * The metadata image and the set of LUNs to fsync are captured at the same instant, so the
   * committed maps only reference bytes that the fsync covers; commits run one at a time.
   */
  commit(cleanShutdown: boolean): Promise<void> {
    const state = this.state;
    const run = async () => {
      const luns = state.luns.takeDirty();
      const writeMetadata = state.metadataDirty || cleanShutdown;
      state.metadataDirty = false;
      const allocator = state.allocator;
      const ticket = allocator.beginCommit();
      const image = writeMetadata ? this.image(cleanShutdown) : undefined;
      let durable = false;
      try {
        await state.luns.fsync(luns);
        if (image !== undefined) await writePoolMetadata(state.dir, image);
        durable = true;
      } finally {
        if (!durable) {
          state.luns.restoreDirty(luns);
          if (writeMetadata) state.metadataDirty = true;
        }
        allocator.endCommit(ticket, durable);
      }
    };
    this.running++;
    const next = this.chain.then(run, run).finally(() => this.running--);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private image(cleanShutdown: boolean): PoolMetadata {
    const { allocator, luns, limits, volumes } = this.state;
    this.generation++;
    return {
      format: METADATA_FORMAT,
      version: 1,
      chunkSizeBytes: CHUNK_SIZE_BYTES,
      limits,
      cleanShutdown,
      generation: this.generation,
      luns: luns.records.map((l, i) => ({ ...l, highWater: allocator.highWaterOf(i) })),
      volumes: [...volumes.values()].map((v) => ({
        id: v.id,
        kind: v.kind,
        sizeBytes: v.sizeBytes,
        readOnly: v.readOnly,
        ...(v.origin !== undefined && { origin: v.origin }),
        createdAt: v.createdAt,
        extents: extentsOf(allocator, v),
      })),
    };
  }
}

/** A volume's chunk map as runs on LUNs (what pool.json and `usage()` show). */
export function extentsOf(allocator: ChunkAllocator, volume: Volume): Extent[] {
  return toExtents([...volume.chunks].map(([chunk, slot]) => [chunk, allocator.address(slot)] as const));
}
