// The pool's backing devices: one open LUN file each, read and written by (LUN, slot) address.
// Writes remember which LUNs they touched, so a commit fsyncs only those.

import { closeSync, fsync, read as readFd, readSync, writeSync } from "node:fs";
import { promisify } from "node:util";
import { StorageError } from "./block-device.ts";
import type { SlotAddress } from "./chunk-allocator.ts";
import { CHUNK_SIZE_BYTES } from "./chunk-span.ts";
import type { LunRecord } from "./pool-metadata.ts";

const fsyncFd = promisify(fsync);

export class LunFiles {
  /** What pool.json records of each LUN (its high-water mark is the allocator's). */
  readonly records: LunRecord[];
  private readonly fds: number[];
  private dirty = new Set<number>();

  constructor(records: LunRecord[], fds: number[]) {
    this.records = records;
    this.fds = fds;
  }

  get count(): number {
    return this.records.length;
  }

  /** Adds a LUN opened by the caller (the pool grew). */
  add(record: LunRecord, fd: number): void {
    this.records.push(record);
    this.fds.push(fd);
  }

  fd(lun: number): number {
    const fd = this.fds[lun];
    if (fd === undefined) throw new StorageError("EINVAL", `no LUN ${lun}`);
    return fd;
  }

  read(address: SlotAddress, within: number, out: Buffer, at: number, length: number): void {
    const fd = this.fd(address.lun);
    const position = address.slot * CHUNK_SIZE_BYTES + within;
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, at + done, length - done, position + done);
      if (n === 0) {
        // Past the end of a LUN file cannot happen for a sized sparse file, but never return junk.
        out.fill(0, at + done, at + length);
        return;
      }
      done += n;
    }
  }

  async readAsync(address: SlotAddress, within: number, out: Buffer, at: number, length: number): Promise<void> {
    const fd = this.fd(address.lun);
    const position = address.slot * CHUNK_SIZE_BYTES + within;
    let done = 0;
    while (done < length) {
      const n = await new Promise<number>((resolve, reject) =>
        readFd(fd, out, at + done, length - done, position + done, (error, bytes) =>
          error ? reject(error) : resolve(bytes),
        ),
      );
      if (n === 0) {
        out.fill(0, at + done, at + length);
        return;
      }
      done += n;
    }
  }

  write(address: SlotAddress, within: number, data: Uint8Array): void {
    const fd = this.fd(address.lun);
    const position = address.slot * CHUNK_SIZE_BYTES + within;
    let done = 0;
    while (done < data.length) {
      done += writeSync(fd, data, done, data.length - done, position + done);
    }
    this.dirty.add(address.lun);
  }

  /** Marks a LUN as needing an fsync at the next commit (its file was extended). */
  markDirty(lun: number): void {
    this.dirty.add(lun);
  }

  /** Takes the set of LUNs written since the last call: a commit fsyncs exactly these. */
  takeDirty(): Set<number> {
    const taken = this.dirty;
    this.dirty = new Set();
    return taken;
  }

  /** Puts back LUNs whose fsync failed, for the next commit to retry. */
  restoreDirty(luns: Iterable<number>): void {
    for (const lun of luns) this.dirty.add(lun);
  }

  async fsync(luns: Iterable<number>): Promise<void> {
    await Promise.all([...luns].map((lun) => fsyncFd(this.fd(lun))));
  }

  closeAll(): void {
    for (const fd of this.fds) closeSync(fd);
  }
}
