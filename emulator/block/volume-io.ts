// The data path of a thin pool: reads, writes, trims and zeroing of a volume's bytes over its
// chunk map, copy-on-write for shared chunks. Data I/O uses synchronous positioned reads/writes to
// the page cache: each request is atomic with respect to the event loop (no chunk locks needed)
// and avoids a thread-pool round trip per 4 KiB request; only large reads run on the thread pool.

import { StorageError, checkRange } from "./block-device.ts";
import { CHUNK_SIZE_BYTES, forEachChunkSpan } from "./chunk-span.ts";
import type { PoolState, Volume } from "./pool-state.ts";

export class VolumeIO {
  private readonly state: PoolState;
  private readonly zeros = Buffer.alloc(CHUNK_SIZE_BYTES);

  constructor(state: PoolState) {
    this.state = state;
  }

  /** Synchronous read into `out` at `at` (small requests: no thread-pool round trip). */
  readNowInto(volume: Volume, offset: number, length: number, out: Buffer, at: number): void {
    this.checkLive(volume);
    checkRange(volume.sizeBytes, offset, length);
    checkTarget(out, at, length);
    const { allocator, luns } = this.state;
    forEachChunkSpan(offset, length, (chunk, within, done, n) => {
      const slot = volume.chunks.get(chunk);
      if (slot === undefined) out.fill(0, at + done, at + done + n);
      else luns.read(allocator.address(slot), within, out, at + done, n);
    });
  }

  /**
   * Large reads: segments are resolved now and copied on the thread pool straight into `out` at
   * `at`, so several requests proceed in parallel. Chunks stored on consecutive slots of one LUN
   * are read with one pread. The slots read are pinned so none can be reused meanwhile.
   */
  readParallelInto(volume: Volume, offset: number, length: number, out: Buffer, at: number): Promise<void> {
    this.checkLive(volume);
    checkRange(volume.sizeBytes, offset, length);
    checkTarget(out, at, length);
    const { allocator, luns } = this.state;
    const pinned: number[] = [];
    const copies: Promise<void>[] = [];
    // The run of slots being gathered into one pread: first slot, its offset, bytes so far.
    let run: { slot: number; lun: number; within: number; at: number; n: number; last: number } | undefined;
    const flushRun = () => {
      if (run === undefined) return;
      copies.push(luns.readAsync(allocator.address(run.slot), run.within, out, run.at, run.n));
      run = undefined;
    };
    forEachChunkSpan(offset, length, (chunk, within, done, n) => {
      const slot = volume.chunks.get(chunk);
      if (slot === undefined) {
        flushRun();
        out.fill(0, at + done, at + done + n);
        return;
      }
      allocator.pin(slot);
      pinned.push(slot);
      const { lun } = allocator.address(slot);
      if (run !== undefined && slot === run.last + 1 && lun === run.lun) {
        run.n += n;
        run.last = slot;
        return;
      }
      flushRun();
      run = { slot, lun, within, at: at + done, n, last: slot };
    });
    flushRun();
    if (copies.length === 0) return Promise.resolve();
    const all = copies.length === 1 ? (copies[0] as Promise<void>) : Promise.all(copies).then(() => undefined);
    this.state.readsInFlight.add(all);
    const unpin = () => {
      this.state.readsInFlight.delete(all);
      for (const slot of pinned) allocator.unpin(slot);
    };
    return all.then(unpin, (error: unknown) => {
      unpin();
      throw error;
    });
  }

  /**
   * Returns false (having changed nothing) when the write needs slots that are only freed pending
   * a commit; the caller flushes and retries.
   */
  writeNow(volume: Volume, offset: number, data: Uint8Array): boolean {
    this.checkLive(volume);
    if (volume.readOnly) {
      throw new StorageError("EPERM", `volume ${volume.id} is a read-only snapshot`);
    }
    checkRange(volume.sizeBytes, offset, data.length);
    if (data.length === 0) return true;
    const allocator = this.state.allocator;
    const first = Math.floor(offset / CHUNK_SIZE_BYTES);
    const last = Math.floor((offset + data.length - 1) / CHUNK_SIZE_BYTES);
    let needed = 0;
    for (let c = first; c <= last; c++) {
      const slot = volume.chunks.get(c);
      if (slot === undefined || !allocator.writableInPlace(slot)) needed++;
    }
    // Check up front so a write that cannot fit changes nothing.
    if (needed > allocator.availableSlots) {
      if (allocator.pendingFreeSlots > 0) return false;
      throw new StorageError(
        "ENOSPC",
        `no space left in thin pool ${this.state.dir}: writing ${data.length} bytes to volume ` +
          `${volume.id} needs ${needed} new chunk(s), ${allocator.availableSlots} free ` +
          `(the pool is overcommitted ${this.state.limits.overcommit}x; add devices or free space)`,
      );
    }
    forEachChunkSpan(offset, data.length, (chunk, within, done, n) => {
      this.writeChunk(volume, chunk, within, data.subarray(done, done + n));
    });
    return true;
  }

  /** Frees the whole chunks inside the range; partial chunks are left as they are. */
  trimNow(volume: Volume, offset: number, length: number): void {
    this.checkLive(volume);
    if (volume.readOnly) {
      throw new StorageError("EPERM", `volume ${volume.id} is a read-only snapshot`);
    }
    checkRange(volume.sizeBytes, offset, length);
    const first = Math.ceil(offset / CHUNK_SIZE_BYTES);
    // A range reaching the end of the volume covers its last, partial chunk entirely.
    const end =
      offset + length === volume.sizeBytes
        ? Math.ceil(volume.sizeBytes / CHUNK_SIZE_BYTES)
        : Math.floor((offset + length) / CHUNK_SIZE_BYTES);
    if (end <= first) return;
    const free = (chunk: number, slot: number) => {
      this.state.allocator.release(slot);
      volume.chunks.delete(chunk);
      this.state.metadataDirty = true;
    };
    if (end - first > volume.chunks.size) {
      for (const [chunk, slot] of [...volume.chunks]) if (chunk >= first && chunk < end) free(chunk, slot);
    } else {
      for (let c = first; c < end; c++) {
        const slot = volume.chunks.get(c);
        if (slot !== undefined) free(c, slot);
      }
    }
  }

  /** Same contract as `writeNow`: false when freed slots must be committed first. */
  writeZeroesNow(volume: Volume, offset: number, length: number): boolean {
    this.trimNow(volume, offset, length);
    // Whatever was not a whole chunk still has to read back as zeros.
    const firstWhole = Math.ceil(offset / CHUNK_SIZE_BYTES) * CHUNK_SIZE_BYTES;
    const endWhole =
      offset + length === volume.sizeBytes
        ? offset + length
        : Math.floor((offset + length) / CHUNK_SIZE_BYTES) * CHUNK_SIZE_BYTES;
    const pieces: [number, number][] =
      endWhole <= firstWhole
        ? [[offset, length]]
        : [
            [offset, firstWhole - offset],
            [endWhole, offset + length - endWhole],
          ];
    for (const [start, n] of pieces) {
      if (n <= 0) continue;
      const chunk = Math.floor(start / CHUNK_SIZE_BYTES);
      if (!volume.chunks.has(chunk)) continue; // unmapped already reads as zeros
      if (!this.writeNow(volume, start, this.zeros.subarray(0, n))) return false;
    }
    return true;
  }

  private writeChunk(volume: Volume, chunk: number, within: number, data: Uint8Array): void {
    const { allocator: a, luns } = this.state;
    const current = volume.chunks.get(chunk);
    if (current !== undefined && a.writableInPlace(current)) {
      luns.write(a.address(current), within, data);
      return;
    }
    const neighbour = volume.chunks.get(chunk - 1);
    const fresh = a.allocate(neighbour === undefined ? undefined : a.address(neighbour).lun);
    const target = a.address(fresh.id);
    const whole = data.length === CHUNK_SIZE_BYTES;
    if (current !== undefined) {
      // Copy-on-write: the slot is shared (or may be, on disk), so build the new chunk elsewhere.
      if (whole) {
        luns.write(target, 0, data);
      } else {
        const copy = Buffer.allocUnsafe(CHUNK_SIZE_BYTES);
        luns.read(a.address(current), 0, copy, 0, CHUNK_SIZE_BYTES);
        copy.set(data, within);
        luns.write(target, 0, copy);
      }
      a.release(current);
    } else {
      if (fresh.needsZeroFill && !whole) {
        // A reused slot holds an earlier owner's bytes: they must never become readable here.
        if (within > 0) luns.write(target, 0, this.zeros.subarray(0, within));
        const tail = within + data.length;
        if (tail < CHUNK_SIZE_BYTES) luns.write(target, tail, this.zeros.subarray(tail));
      }
      luns.write(target, within, data);
    }
    volume.chunks.set(chunk, fresh.id);
    this.state.metadataDirty = true;
  }

  private checkLive(volume: Volume): void {
    if (this.state.closed) throw new StorageError("CLOSED", `pool ${this.state.dir} is closed`);
    if (volume.deleted) throw new StorageError("NOT_FOUND", `volume ${volume.id} was deleted`);
  }
}

function checkTarget(out: Buffer, at: number, length: number): void {
  if (!Number.isSafeInteger(at) || at < 0 || at + length > out.length) {
    throw new StorageError("EINVAL", `target buffer of ${out.length} bytes cannot take ${length} bytes at ${at}`);
  }
}
