// The BlockDevice of one thin volume: picks the inline or the thread-pool read, and retries a
// write that needs freed chunks after a flush makes them reusable. All state lives in the pool.

import { type BlockDevice, StorageError } from "./block-device.ts";
import type { Volume } from "./pool-state.ts";
import type { VolumeIO } from "./volume-io.ts";

/** Reads at least this large run on the libuv thread pool, several in parallel; smaller ones
 *  inline, where a thread-pool round trip would cost more than the copy. Writes all run inline. */
export const PARALLEL_READ_BYTES = 256 * 1024;

export class ThinVolumeDevice implements BlockDevice {
  private readonly io: VolumeIO;
  private readonly volume: Volume;
  private readonly flushPool: () => Promise<void>;

  constructor(io: VolumeIO, volume: Volume, flushPool: () => Promise<void>) {
    this.io = io;
    this.volume = volume;
    this.flushPool = flushPool;
  }

  get sizeBytes(): number {
    return this.volume.sizeBytes;
  }

  get readOnly(): boolean {
    return this.volume.readOnly;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    if (length >= PARALLEL_READ_BYTES) await this.io.readParallelInto(this.volume, offset, length, out, 0);
    else this.io.readNowInto(this.volume, offset, length, out, 0);
    return out;
  }

  readInto(offset: number, length: number, target: Buffer, at: number): Promise<void> {
    if (length >= PARALLEL_READ_BYTES) return this.io.readParallelInto(this.volume, offset, length, target, at);
    try {
      this.io.readNowInto(this.volume, offset, length, target, at);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    return this.writev(offset, [data]);
  }

  async writev(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    // Writes of every size run synchronously (page-cache copies): measured through NBD with 16
    // 1 MiB writes in flight, a pwrite on the thread pool took ~3.6 ms from dispatch to completion
    // against ~0.2-0.5 ms inline, and 1 GiB took 0.82-0.88 s instead of 0.55-0.64 s.
    const data = pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces);
    if (this.io.writeNow(this.volume, offset, data)) return;
    await this.flushPool(); // makes chunks freed by trims reusable
    this.io.writeNow(this.volume, offset, data) || noSpace(this.volume.id);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    if (this.io.writeZeroesNow(this.volume, offset, length)) return;
    await this.flushPool();
    this.io.writeZeroesNow(this.volume, offset, length) || noSpace(this.volume.id);
  }

  async trim(offset: number, length: number): Promise<void> {
    this.io.trimNow(this.volume, offset, length);
  }

  flush(): Promise<void> {
    return this.flushPool();
  }
}

function noSpace(id: string): never {
  throw new StorageError("ENOSPC", `no space left in the thin pool for volume ${id}`);
}
