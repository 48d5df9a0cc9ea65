// A thin-provisioned storage pool with real bytes on disk: its lifecycle (create, open, grow,
// flush, close) and its volumes (create, resize, snapshot, clone, delete). The bytes move in
// volume-io.ts, pool.json is written by pool-commit.ts, the LUN files are lun-files.ts.
//
// Layout of a pool directory:
//   pool.json    metadata: LUNs, limits, every volume's chunk map as extents (see pool-metadata.ts)
//   pool.lock    pid of the process that has the pool open
//   lun-N.img    backing device N: a sparse file of the declared size, cut into chunk slots
//
// A volume is a map from volume chunk index to a physical slot; unmapped chunks read as zeros and
// cost nothing. Snapshots and clones share slots (reference counted) and copy a chunk on the first
// write to it.

import { closeSync, fstatSync, ftruncateSync, openSync, rmSync, writeSync } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type BlockDevice, StorageError } from "./block-device.ts";
import { ChunkAllocator } from "./chunk-allocator.ts";
import { releasePoolLock, takePoolLock } from "./pool-lock.ts";
import { CHUNK_SIZE_BYTES } from "./chunk-span.ts";
import { LunFiles } from "./lun-files.ts";
import { PoolCommitter, extentsOf } from "./pool-commit.ts";
import {
  type Extent,
  type LunRecord,
  type PoolMetadata,
  METADATA_FILE,
  METADATA_FORMAT,
  fsyncDirectory,
  readPoolMetadata,
  writePoolMetadata,
} from "./pool-metadata.ts";
import type { PoolState, Volume } from "./pool-state.ts";
import { ThinVolumeDevice } from "./thin-volume-device.ts";
import { type VolumeInfo, VolumeCatalog, info } from "./volume-catalog.ts";
import { VolumeIO } from "./volume-io.ts";

export { CHUNK_SIZE_BYTES } from "./chunk-span.ts";
export { PARALLEL_READ_BYTES } from "./thin-volume-device.ts";
export { SECTOR_BYTES, type VolumeInfo } from "./volume-catalog.ts";

export interface ThinPoolCreateOptions {
  /** Backing devices, each becomes one LUN file of exactly this size (sparse). */
  devices: { sizeBytes: number }[];
  /** Sum of volume sizes may reach physical capacity x overcommit (default 1: no overcommit). */
  overcommit?: number;
  maxVolumeSizeBytes?: number;
  maxVolumes?: number;
}

export interface LunUsage {
  lun: number;
  file: string;
  sizeBytes: number;
  chunks: number;
  usedChunks: number;
}

export interface VolumeUsage extends VolumeInfo {
  /** Mapped chunks no other volume shares. */
  exclusiveChunks: number;
  extents: Extent[];
}

export interface PoolUsage {
  chunkSizeBytes: number;
  /** Physical bytes: all LUN chunk slots. */
  capacityBytes: number;
  /** Sum of volume sizes (what was promised). */
  allocatedBytes: number;
  /** capacity x overcommit: the most `allocatedBytes` may reach. */
  allocatableBytes: number;
  /** Physical chunks in use, in bytes. */
  usedBytes: number;
  /** Freed chunks that become reusable after the next flush, in bytes. */
  pendingFreeBytes: number;
  overcommit: number;
  luns: LunUsage[];
  volumes: VolumeUsage[];
}

const slotsOf = (sizeBytes: number) => Math.floor(sizeBytes / CHUNK_SIZE_BYTES);

export class ThinPool {
  readonly dir: string;
  private readonly state: PoolState;
  private readonly io: VolumeIO;
  private readonly committer: PoolCommitter;
  private readonly catalog: VolumeCatalog;

  private constructor(dir: string, metadata: PoolMetadata, luns: LunFiles) {
    this.dir = dir;
    const references: number[] = [];
    const bases: number[] = [];
    let total = 0;
    for (const l of metadata.luns) {
      bases.push(total);
      total += slotsOf(l.sizeBytes);
    }
    const volumes = new Map<string, Volume>();
    for (const record of metadata.volumes) {
      const chunks = new Map<number, number>();
      for (const e of record.extents) {
        const base = bases[e.lun];
        const lunRecord = metadata.luns[e.lun];
        if (base === undefined || lunRecord === undefined || e.slot + e.count > slotsOf(lunRecord.sizeBytes)) {
          throw new Error(`${METADATA_FILE}: volume ${record.id} has an extent outside LUN ${e.lun}`);
        }
        for (let i = 0; i < e.count; i++) {
          chunks.set(e.chunk + i, base + e.slot + i);
          references.push(base + e.slot + i);
        }
      }
      const { extents: _extents, ...rest } = record;
      volumes.set(record.id, { ...rest, chunks, deleted: false });
    }
    // After a crash, slots above the recorded high-water mark may hold bytes of writes that were
    // never committed; treat every slot as possibly stale so reuse always zero-fills.
    const allocator = new ChunkAllocator(
      metadata.luns.map((l) => ({
        slots: slotsOf(l.sizeBytes),
        highWater: metadata.cleanShutdown ? l.highWater : slotsOf(l.sizeBytes),
      })),
      references,
    );
    this.state = {
      dir,
      limits: metadata.limits,
      allocator,
      luns,
      volumes,
      metadataDirty: false,
      closed: false,
      readsInFlight: new Set(),
    };
    this.io = new VolumeIO(this.state);
    this.committer = new PoolCommitter(this.state, metadata.generation);
    this.catalog = new VolumeCatalog(this.state, () => this.committer.commit(false));
  }

  /** Creates the pool directory, its sparse LUN files and its metadata, and opens it. */
  static async create(dir: string, options: ThinPoolCreateOptions): Promise<ThinPool> {
    const overcommit = options.overcommit ?? 1;
    if (!(overcommit >= 1)) {
      throw new StorageError("EINVAL", `overcommit must be at least 1, got ${overcommit}`);
    }
    if (options.devices.length === 0) {
      throw new StorageError("EINVAL", "a pool needs at least one backing device");
    }
    for (const [i, d] of options.devices.entries()) {
      if (!Number.isSafeInteger(d.sizeBytes) || d.sizeBytes < CHUNK_SIZE_BYTES) {
        throw new StorageError(
          "EINVAL",
          `device ${i}: size ${d.sizeBytes} is below one chunk (${CHUNK_SIZE_BYTES} bytes)`,
        );
      }
    }
    const made = await mkdir(dir, { recursive: true });
    if (await exists(join(dir, METADATA_FILE))) {
      throw new StorageError("ALREADY_EXISTS", `a pool already exists in ${dir}`);
    }
    const luns: LunRecord[] = [];
    try {
      for (const [index, d] of options.devices.entries()) {
        const file = `lun-${index}.img`;
        const handle = await open(join(dir, file), "wx");
        luns.push({ index, file, sizeBytes: d.sizeBytes, highWater: 0 });
        try {
          await handle.truncate(d.sizeBytes); // sparse: no blocks until written
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await fsyncDirectory(dir);
      await writePoolMetadata(dir, {
        format: METADATA_FORMAT,
        version: 1,
        chunkSizeBytes: CHUNK_SIZE_BYTES,
        limits: {
          overcommit,
          ...(options.maxVolumeSizeBytes !== undefined && { maxVolumeSizeBytes: options.maxVolumeSizeBytes }),
          ...(options.maxVolumes !== undefined && { maxVolumes: options.maxVolumes }),
        },
        cleanShutdown: true,
        generation: 0,
        luns,
        volumes: [],
      });
    } catch (err) {
      // No half-made pool stays behind: a LUN file without pool.json made the next create fail (EEXIST).
      for (const l of luns) await rm(join(dir, l.file), { force: true });
      if (made !== undefined) await rm(made, { recursive: true, force: true });
      throw err;
    }
    return ThinPool.open(dir);
  }

  /** Opens an existing pool; refuses (LOCKED) while another live process has it open. */
  static async open(dir: string): Promise<ThinPool> {
    const metadata = await readPoolMetadata(dir);
    if (metadata.chunkSizeBytes !== CHUNK_SIZE_BYTES) {
      throw new StorageError(
        "EINVAL",
        `pool in ${dir} uses ${metadata.chunkSizeBytes}-byte chunks; this build uses ${CHUNK_SIZE_BYTES}`,
      );
    }
    takePoolLock(dir);
    const fds: number[] = [];
    try {
      for (const record of metadata.luns) {
        const fd = openSync(join(dir, record.file), "r+");
        fds.push(fd);
        const size = fstatSync(fd).size;
        // A LUN file that shrank (copied without sparseness, truncated by hand) is repaired to size.
        if (size < record.sizeBytes) ftruncateSync(fd, record.sizeBytes);
      }
      const pool = new ThinPool(dir, metadata, new LunFiles(metadata.luns, fds));
      // Mark the pool open on disk: if this process dies, the next open distrusts high-water marks.
      pool.state.metadataDirty = true;
      await pool.committer.commit(false);
      return pool;
    } catch (error) {
      for (const fd of fds) closeSync(fd);
      releasePoolLock(dir);
      throw error;
    }
  }

  get chunkSizeBytes(): number {
    return CHUNK_SIZE_BYTES;
  }

  /**
   * Grows LUNs to the sizes given (a size at or below the current one leaves that
   * LUN as it is) and appends LUNs past the last, while the pool stays open: every extent keeps
   * its (LUN, slot) and open devices keep working. The larger files are fsynced before pool.json
   * records them; a crash in between leaves the old geometry, whose files are merely longer.
   */
  async grow(lunSizes: readonly number[]): Promise<void> {
    this.checkOpen();
    const luns = this.state.luns;
    const current = luns.records.map((r) => r.sizeBytes);
    const wanted = lunSizes.map((size, lun) => Math.max(size, current[lun] ?? 0));
    for (const [lun, size] of wanted.entries()) {
      if (size !== current[lun] && (!Number.isSafeInteger(size) || size < CHUNK_SIZE_BYTES)) {
        throw new StorageError("EINVAL", `LUN ${lun}: size ${size} is below one chunk (${CHUNK_SIZE_BYTES} bytes)`);
      }
    }
    for (const [lun, size] of current.entries()) wanted[lun] ??= size;
    if (wanted.length === current.length && wanted.every((size, lun) => size === current[lun])) return;
    // Slot ids are renumbered: wait until no read pins a slot and no commit holds a ticket.
    while (this.state.readsInFlight.size > 0 || !this.committer.idle) {
      await Promise.allSettled([...this.state.readsInFlight]);
      await this.committer.drained();
    }
    this.checkOpen();
    // From here to the commit nothing awaits: no request sees a half-grown pool.
    const added: { record: LunRecord; fd: number }[] = [];
    try {
      for (const [lun, size] of wanted.entries()) {
        if (lun < current.length) continue;
        const file = `lun-${lun}.img`;
        // A LUN file pool.json does not list was left by a grow that failed: it holds nothing.
        const fd = openSync(join(this.dir, file), "w+");
        added.push({ record: { index: lun, file, sizeBytes: size, highWater: 0 }, fd });
        ftruncateSync(fd, size);
      }
    } catch (err) {
      for (const { record, fd } of added) {
        closeSync(fd);
        rmSync(join(this.dir, record.file), { force: true });
      }
      throw err;
    }
    for (const [lun, size] of current.entries()) {
      const record = luns.records[lun] as LunRecord;
      if ((wanted[lun] as number) <= size) continue;
      ftruncateSync(luns.fd(lun), wanted[lun] as number);
      record.sizeBytes = wanted[lun] as number;
      luns.markDirty(lun);
    }
    for (const { record, fd } of added) {
      luns.add(record, fd);
      luns.markDirty(record.index);
    }
    const { allocator, remap } = this.state.allocator.regrown(wanted.map(slotsOf));
    for (const volume of this.state.volumes.values()) {
      for (const [chunk, slot] of volume.chunks) volume.chunks.set(chunk, remap(slot));
    }
    this.state.allocator = allocator;
    this.state.metadataDirty = true;
    await this.committer.commit(false);
  }

  async createVolume(id: string, sizeBytes: number): Promise<VolumeInfo> {
    return this.catalog.create(id, sizeBytes);
  }

  /** Grows a volume in place; existing bytes stay, the new tail reads as zeros. */
  async resizeVolume(id: string, sizeBytes: number): Promise<VolumeInfo> {
    return this.catalog.resize(id, sizeBytes);
  }

  /** Instant read-only point-in-time copy sharing every chunk with the source. */
  async snapshotVolume(sourceId: string, newId: string): Promise<VolumeInfo> {
    return this.catalog.snapshot(sourceId, newId);
  }

  /** Instant writable copy sharing every chunk with the source until either side writes. */
  async cloneVolume(sourceId: string, newId: string): Promise<VolumeInfo> {
    return this.catalog.clone(sourceId, newId);
  }

  async deleteVolume(id: string): Promise<void> {
    return this.catalog.delete(id);
  }

  /** Frees every chunk of a volume at once (instance local disks on stop); it then reads as zeros. */
  async discardAll(id: string): Promise<void> {
    return this.catalog.discardAll(id);
  }

  getVolume(id: string): VolumeInfo | undefined {
    return this.catalog.get(id);
  }

  listVolumes(): VolumeInfo[] {
    return this.catalog.list();
  }

  /** A block device over the volume; read-only for snapshots. */
  device(id: string): BlockDevice {
    return new ThinVolumeDevice(this.io, this.catalog.volume(id), () => this.flush());
  }

  /** The size of each LUN, in bytes (what `usage()` reports, without counting chunks). */
  lunSizes(): number[] {
    return this.state.luns.records.map((l) => l.sizeBytes);
  }

  usage(): PoolUsage {
    this.checkOpen();
    const { allocator: a, limits } = this.state;
    const capacityBytes = a.totalSlots * CHUNK_SIZE_BYTES;
    return {
      chunkSizeBytes: CHUNK_SIZE_BYTES,
      capacityBytes,
      allocatedBytes: this.catalog.allocatedBytes(),
      allocatableBytes: Math.floor(capacityBytes * limits.overcommit),
      usedBytes: a.usedSlots * CHUNK_SIZE_BYTES,
      pendingFreeBytes: a.pendingFreeSlots * CHUNK_SIZE_BYTES,
      overcommit: limits.overcommit,
      luns: this.state.luns.records.map((l, lun) => ({
        lun,
        file: l.file,
        sizeBytes: l.sizeBytes,
        chunks: a.lunSlots[lun] ?? 0,
        usedChunks: a.usedOn(lun),
      })),
      volumes: [...this.state.volumes.values()].map((v) => {
        let exclusiveChunks = 0;
        for (const slot of v.chunks.values()) if (a.refCount(slot) === 1) exclusiveChunks++;
        return { ...info(v), exclusiveChunks, extents: extentsOf(a, v) };
      }),
    };
  }

  /** Makes every completed write durable: fsync the LUN files written, then commit metadata. */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.committer.commit(false);
  }

  /** Flushes, records a clean shutdown, closes the LUN files and releases the lock. */
  async close(): Promise<void> {
    if (this.state.closed) return;
    // they use the LUN descriptors
    await Promise.allSettled([...this.state.readsInFlight]);
    this.state.metadataDirty = true;
    await this.committer.commit(true);
    this.state.closed = true;
    this.state.luns.closeAll();
    releasePoolLock(this.dir);
  }

  private checkOpen(): void {
    if (this.state.closed) throw new StorageError("CLOSED", `pool ${this.dir} is closed`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
