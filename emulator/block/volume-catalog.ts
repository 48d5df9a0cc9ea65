// A thin pool's volumes: create, grow, snapshot, clone, delete, discard, with the pool's limits
// (volume count, size, overcommit). Each change is committed before it returns.

import { StorageError } from "./block-device.ts";
import { CHUNK_SIZE_BYTES } from "./chunk-span.ts";
import type { VolumeKind } from "./pool-metadata.ts";
import type { PoolState, Volume } from "./pool-state.ts";

/** Volume sizes are whole 512-byte sectors, the unit every block client assumes. */
export const SECTOR_BYTES = 512;
const VOLUME_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}$/;

export interface VolumeInfo {
  id: string;
  kind: VolumeKind;
  sizeBytes: number;
  readOnly: boolean;
  origin?: string;
  createdAt: string;
  /** Chunks this volume maps (shared ones included). */
  mappedChunks: number;
}

export class VolumeCatalog {
  private readonly state: PoolState;
  private readonly commit: () => Promise<void>;

  constructor(state: PoolState, commit: () => Promise<void>) {
    this.state = state;
    this.commit = commit;
  }

  async create(id: string, sizeBytes: number): Promise<VolumeInfo> {
    this.checkOpen();
    if (!VOLUME_ID.test(id)) {
      throw new StorageError(
        "EINVAL",
        `invalid volume id ${JSON.stringify(id)}: use 1-255 of A-Z a-z 0-9 . _ : @ - (starting alphanumeric)`,
      );
    }
    const volumes = this.state.volumes;
    if (volumes.has(id)) throw new StorageError("ALREADY_EXISTS", `volume ${id} already exists`);
    this.checkSize(id, sizeBytes);
    const limits = this.state.limits;
    if (limits.maxVolumes !== undefined && volumes.size >= limits.maxVolumes) {
      throw new StorageError(
        "QUOTA",
        `pool holds ${volumes.size} volumes, its limit is ${limits.maxVolumes}: delete one first`,
      );
    }
    this.checkOvercommit(sizeBytes, `create volume ${id}`);
    const volume: Volume = {
      id,
      kind: "volume",
      sizeBytes,
      readOnly: false,
      createdAt: new Date().toISOString(),
      chunks: new Map(),
      deleted: false,
    };
    volumes.set(id, volume);
    this.state.metadataDirty = true;
    await this.commit();
    return info(volume);
  }

  /** Grows a volume in place; existing bytes stay, the new tail reads as zeros. */
  async resize(id: string, sizeBytes: number): Promise<VolumeInfo> {
    const volume = this.volume(id);
    if (volume.readOnly) {
      throw new StorageError("EPERM", `volume ${id} is a read-only snapshot and cannot be resized`);
    }
    if (sizeBytes < volume.sizeBytes) {
      throw new StorageError(
        "SHRINK_REFUSED",
        `volume ${id} is ${volume.sizeBytes} bytes; shrinking it to ${sizeBytes} would destroy data ` +
          `and is refused. Volumes only grow: create a smaller volume and copy the data instead.`,
      );
    }
    if (sizeBytes === volume.sizeBytes) return info(volume);
    this.checkSize(id, sizeBytes);
    this.checkOvercommit(sizeBytes - volume.sizeBytes, `grow volume ${id}`);
    volume.sizeBytes = sizeBytes;
    this.state.metadataDirty = true;
    await this.commit();
    return info(volume);
  }

  /** Instant read-only point-in-time copy sharing every chunk with the source. */
  async snapshot(sourceId: string, newId: string): Promise<VolumeInfo> {
    return this.share(sourceId, newId, "snapshot");
  }

  /** Instant writable copy sharing every chunk with the source until either side writes. */
  async clone(sourceId: string, newId: string): Promise<VolumeInfo> {
    return this.share(sourceId, newId, "clone");
  }

  async delete(id: string): Promise<void> {
    const volume = this.volume(id);
    for (const slot of volume.chunks.values()) this.state.allocator.release(slot);
    volume.chunks.clear();
    volume.deleted = true;
    this.state.volumes.delete(id);
    this.state.metadataDirty = true;
    await this.commit();
  }

  /**
   * Frees every chunk of a volume at once (instance local disks on stop): no bytes are written,
   * the volume then reads as zeros, and freed slots are zero-filled when reused.
   */
  async discardAll(id: string): Promise<void> {
    const volume = this.volume(id);
    for (const slot of volume.chunks.values()) this.state.allocator.release(slot);
    volume.chunks.clear();
    this.state.metadataDirty = true;
    await this.commit();
  }

  get(id: string): VolumeInfo | undefined {
    const volume = this.state.volumes.get(id);
    return volume === undefined ? undefined : info(volume);
  }

  list(): VolumeInfo[] {
    return [...this.state.volumes.values()].map(info);
  }

  private async share(sourceId: string, newId: string, kind: "snapshot" | "clone"): Promise<VolumeInfo> {
    const source = this.volume(sourceId);
    const { volumes, limits } = this.state;
    if (!VOLUME_ID.test(newId)) throw new StorageError("EINVAL", `invalid volume id ${JSON.stringify(newId)}`);
    if (volumes.has(newId)) throw new StorageError("ALREADY_EXISTS", `volume ${newId} already exists`);
    if (limits.maxVolumes !== undefined && volumes.size >= limits.maxVolumes) {
      throw new StorageError("QUOTA", `pool holds ${volumes.size} volumes, its limit is ${limits.maxVolumes}`);
    }
    this.checkOvercommit(source.sizeBytes, `${kind} ${sourceId} as ${newId}`);
    // Writes are synchronous, so none is half-applied here: the chunks are shared as they stand.
    const chunks = new Map(source.chunks);
    for (const slot of chunks.values()) this.state.allocator.addRef(slot);
    const volume: Volume = {
      id: newId,
      kind,
      sizeBytes: source.sizeBytes,
      readOnly: kind === "snapshot",
      origin: sourceId,
      createdAt: new Date().toISOString(),
      chunks,
      deleted: false,
    };
    volumes.set(newId, volume);
    this.state.metadataDirty = true;
    await this.commit();
    return info(volume);
  }

  /** Sum of volume sizes: what the pool promised. */
  allocatedBytes(): number {
    let sum = 0;
    for (const v of this.state.volumes.values()) sum += v.sizeBytes;
    return sum;
  }

  private checkSize(id: string, sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SECTOR_BYTES !== 0) {
      throw new StorageError(
        "EINVAL",
        `volume ${id}: size ${sizeBytes} must be a positive multiple of ${SECTOR_BYTES} bytes`,
      );
    }
    const max = this.state.limits.maxVolumeSizeBytes;
    if (max !== undefined && sizeBytes > max) {
      throw new StorageError("QUOTA", `volume ${id}: ${sizeBytes} bytes exceeds the pool's per-volume limit of ${max}`);
    }
  }

  private checkOvercommit(extraBytes: number, what: string): void {
    const { allocator, limits } = this.state;
    const capacity = allocator.totalSlots * CHUNK_SIZE_BYTES;
    const limit = Math.floor(capacity * limits.overcommit);
    const allocated = this.allocatedBytes();
    if (allocated + extraBytes > limit) {
      throw new StorageError(
        "OVERCOMMIT",
        `cannot ${what}: the pool would promise ${allocated + extraBytes} bytes, more than its ` +
          `${capacity}-byte capacity x overcommit ${limits.overcommit} = ${limit} ` +
          `(${allocated} already allocated)`,
      );
    }
  }

  /** The volume, or NOT_FOUND. */
  volume(id: string): Volume {
    this.checkOpen();
    const volume = this.state.volumes.get(id);
    if (volume === undefined) throw new StorageError("NOT_FOUND", `no volume ${id} in pool ${this.state.dir}`);
    return volume;
  }

  private checkOpen(): void {
    if (this.state.closed) throw new StorageError("CLOSED", `pool ${this.state.dir} is closed`);
  }
}

export function info(v: Volume): VolumeInfo {
  return {
    id: v.id,
    kind: v.kind,
    sizeBytes: v.sizeBytes,
    readOnly: v.readOnly,
    ...(v.origin !== undefined && { origin: v.origin }),
    createdAt: v.createdAt,
    mappedChunks: v.chunks.size,
  };
}
