// The emulator's data plane: the bytes behind the control plane's objects.
//
//   <dataDir>/pools/<poolId>/   a ThinPool per StoragePool, one LUN file per declared device;
//                               volumes and snapshots are thin volumes named by their ids
//   <dataDir>/local/<hostId>/   a ThinPool per host holding its instances' local disks (one LUN
//                               of the host's local disk size), created when a disk first lands there
//   <dataDir>/data-plane.json   the last control-plane event acted on
//
// The control plane stays synchronous and deterministic (rehearsals are plain copies of it). After
// each committed transaction the data plane reconciles: whatever the document declares and the
// pools lack is created (clones and snapshots copy-on-write, in creation order), growth is applied,
// what the document no longer holds is deleted; stop/terminate events wipe local disks. A
// reconcile is a full comparison, so one that a crash cut short is finished by the next start.
// Failures never undo a committed transaction: they are kept per object and shown by `usage()`
// and by every data request that needs the object.
import { existsSync, readdirSync, rmSync, readFileSync, statSync } from "node:fs";
import { open, truncate } from "node:fs/promises";
import { writeFileAtomicAsync } from "../durable/write-file-atomic.ts";
import { join } from "node:path";
import type { HostStorage } from "./context.ts";
import type { EmulatorData, InstanceObject, PoolObject } from "./data.ts";
import { EmulatorError, conflict, notFound } from "./errors.ts";
import { type BlockDevice, StorageError, readOnlyView } from "./volumes/block-device.ts";
import { checkLunSpace } from "./volumes/lun-space.ts";
import { METADATA_FILE, readPoolMetadata, writePoolMetadata } from "./volumes/pool-metadata.ts";
import { CHUNK_SIZE_BYTES, SECTOR_BYTES, ThinPool, type PoolUsage } from "./volumes/thin-pool.ts";

const GiB = 1024 ** 3;
/** The control plane enforces the declared overcommit; the ThinPool's own limit stays out of its way. */
const UNLIMITED_OVERCOMMIT = 1e9;
/** How long a reconcile waits for more transactions to join it, unless someone waits for the bytes. */
const RECONCILE_DELAY_MS = 200;
/** Device name of an instance's local disk. */
export const LOCAL_DISK_DEVICE = "vda";
/** Events after which an instance's local disk holds nothing, for data written before disks had epochs. */
const WIPING_EVENTS = new Set(["instance.local-disk-wiped", "instance.stopped", "instance.terminated"]);

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
function lunBytes(sizeGiB: number): number {
  return Math.max(CHUNK_SIZE_BYTES, Math.floor((sizeGiB * GiB) / CHUNK_SIZE_BYTES) * CHUNK_SIZE_BYTES);
}

/** Ids are `<prefix>-<hex counter>`; the counter orders creations across collections. */
function creationOrder(id: string): number {
  return Number.parseInt(id.slice(id.lastIndexOf("-") + 1), 16) || 0;
}

export interface PoolDataView {
  capacityBytes: number;
  allocatedBytes: number;
  usedBytes: number;
  /** Freed chunks that become reusable at the next flush. */
  pendingFreeBytes: number;
  chunkSizeBytes: number;
  luns: { lun: number; file: string; sizeBytes: number; usedBytes: number }[];
  volumes: { id: string; kind: string; sizeBytes: number; readOnly: boolean; origin?: string; mappedBytes: number; exclusiveBytes: number }[];
  errors: Record<string, string>;
}

export class DataPlane implements HostStorage {
  readonly dir: string;
  /** The live control-plane document; read only. */
  private readonly data: EmulatorData;
  private readonly stores = new Map<string, ThinPool>();
  private readonly failures = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private scheduled = false;
  private started = false;
  private closed = false;
  private lastSeq = 0;
  private readonly stateFile: string;
  private timer: NodeJS.Timeout | undefined;
  private runNow: (() => void) | undefined;

  constructor(dir: string, data: EmulatorData) {
    this.dir = dir;
    this.data = data;
    this.stateFile = join(dir, "data-plane.json");
    try {
      this.lastSeq = (JSON.parse(readFileSync(this.stateFile, "utf8")) as { lastSeq?: number }).lastSeq ?? 0;
    } catch {
      this.lastSeq = 0;
    }
  }

  /**
   * Called after every committed transaction: one more reconcile is queued (coalesced), after a
   * short delay so that a burst of transactions (an apply of thousands) costs a few passes, not one
   * per transaction; whoever needs the bytes calls `settled()`, which starts it at once.
   */
  schedule(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    this.started = true;
    let run!: () => void;
    const due = new Promise<void>((resolve) => (run = resolve));
    this.timer = setTimeout(run, RECONCILE_DELAY_MS);
    this.runNow = run;
    this.queue = this.queue.then(async () => {
      await due;
      clearTimeout(this.timer);
      this.runNow = undefined;
      this.scheduled = false;
      if (this.closed) return;
      try {
        await this.reconcile();
      } catch (err) {
        this.failures.set("data-plane", (err as Error).message);
      }
    });
  }

  /** Resolves once everything committed so far is carried out on disk (never rejects). */
  settled(): Promise<void> {
    if (!this.started) this.schedule();
    this.runNow?.();
    return this.queue;
  }

  /** Before a pool or a host's local disk is recorded: its LUN files must be possible on this filesystem. */
  checkDevices(devices: readonly { what: string; sizeGiB: number }[]): void {
    try {
      // The pools' directory when it exists, else the data dir (a plan creates no directory).
      const pools = join(this.dir, "pools");
      checkLunSpace(existsSync(pools) ? pools : this.dir, devices.map((d) => ({ what: d.what, sizeBytes: lunBytes(d.sizeGiB) })));
    } catch (err) {
      storageToEmulator(err);
    }
  }

  /**
   * Why a pool's bytes cannot serve it (its create failed, pool.json or a LUN file is missing or
   * short), read from disk without opening the pool; undefined when healthy or while a reconcile
   * that may create or grow it is due.
   */
  poolProblem(pool: PoolObject): string | undefined {
    if (this.scheduled) return undefined;
    const failure = this.failures.get(pool.id);
    if (failure) return failure;
    const dir = join(this.dir, "pools", pool.id);
    if (!existsSync(join(dir, METADATA_FILE))) return `its data is missing: ${dir} holds no ${METADATA_FILE}`;
    for (const [lun, device] of pool.spec.devices.entries()) {
      const file = join(dir, `lun-${lun}.img`);
      const declared = lunBytes(device.sizeGiB);
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return `LUN ${lun} is missing: ${file} does not exist`;
      }
      if (size < declared) return `LUN ${lun} holds ${size} bytes of the ${declared} its device declares (${file})`;
    }
    return undefined;
  }

  /** Capacity, allocation, use and LUN map of a storage pool's bytes. */
  async poolUsage(poolId: string): Promise<PoolDataView> {
    await this.settled();
    const pool = this.stores.get(`pools/${poolId}`);
    if (!pool) throw new StorageError("NOT_FOUND", this.failures.get(poolId) ?? `pool ${poolId} has no data`);
    const errors: Record<string, string> = {};
    for (const id of [poolId, ...pool.listVolumes().map((v) => v.id)]) {
      const failure = this.failures.get(id);
      if (failure) errors[id] = failure;
    }
    return view(pool.usage(), errors);
  }

  /** Bytes a volume or snapshot holds: its mapped chunks (shared ones included); undefined without data. */
  async writtenBytes(id: string): Promise<number | undefined> {
    await this.settled();
    const poolId = this.data.volumes[id]?.spec.pool ?? this.data.snapshots[id]?.pool;
    const info = poolId === undefined ? undefined : this.stores.get(`pools/${poolId}`)?.getVolume(id);
    return info ? info.mappedChunks * CHUNK_SIZE_BYTES : undefined;
  }

  /** The block device of a volume or snapshot (snapshots are read-only). */
  async volumeDevice(id: string): Promise<BlockDevice> {
    await this.settled();
    const poolId = this.data.volumes[id]?.spec.pool ?? this.data.snapshots[id]?.pool;
    if (poolId === undefined) throw new StorageError("NOT_FOUND", `no volume or snapshot ${id}`);
    const pool = this.stores.get(`pools/${poolId}`);
    if (!pool?.getVolume(id)) {
      throw new StorageError("NOT_FOUND", `${id} has no data: ${this.failures.get(id) ?? this.failures.get(poolId) ?? "not created yet"}`);
    }
    const device = pool.device(id);
    return device.readOnly ? readOnlyView(device) : device;
  }

  /** An instance's local disk, undefined when it has none. */
  async localDisk(instance: InstanceObject): Promise<BlockDevice | undefined> {
    await this.settled();
    if (!(instance.spec.localDiskGiB > 0)) return undefined;
    const pool = this.stores.get(`local/${instance.hostId}`);
    const id = localDiskId(instance);
    if (!pool?.getVolume(id)) {
      throw new StorageError("NOT_FOUND", `the local disk of ${instance.name} has no data: ${this.failures.get(instance.id) ?? "not created yet"}`);
    }
    return pool.device(id);
  }

  /**
   * A device of a running instance for the devices API: its local disk (`vda`) or an attached
   * volume. Writes to a read-only attachment and any access to a stopped instance are refused.
   */
  async instanceDevice(instanceId: string, name: string, access: "read" | "write"): Promise<{ device: BlockDevice; what: string }> {
    await this.settled();
    const instance = this.data.instances[instanceId];
    if (!instance) {
      if (this.data.terminated?.[instanceId]) throw conflict(`instance ${instanceId} is terminated: it has no devices any more`);
      throw notFound("instance", instanceId);
    }
    if (instance.state !== "running") {
      throw conflict(`instance ${instance.name} is ${instance.state}: its devices can be read and written only while it runs (start it first)`);
    }
    if (name === LOCAL_DISK_DEVICE) {
      const disk = await this.localDisk(instance).catch(storageToEmulator);
      if (!disk) throw new EmulatorError("not-found", `instance ${instance.name} has no local disk (localDiskGiB is 0)`);
      return { device: disk, what: `local disk ${name} of ${instance.name}` };
    }
    const attachment = Object.values(this.data.attachments).find((a) => a.spec.instance === instanceId && a.device === name && a.state === "attached");
    if (!attachment) {
      const devices = [LOCAL_DISK_DEVICE, ...Object.values(this.data.attachments).filter((a) => a.spec.instance === instanceId).map((a) => a.device)];
      throw new EmulatorError("not-found", `instance ${instance.name} has no device ${name} (it has ${devices.join(", ")})`);
    }
    const volume = this.data.volumes[attachment.spec.volume];
    const what = `device ${name} of ${instance.name} (volume ${volume?.name ?? attachment.spec.volume}, ${attachment.spec.mode})`;
    if (access === "write" && attachment.spec.mode === "read-only") {
      throw conflict(`${what} is attached read-only: writes are refused`);
    }
    const device = await this.volumeDevice(attachment.spec.volume).catch(storageToEmulator);
    return { device: attachment.spec.mode === "read-only" ? readOnlyView(device) : device, what };
  }

  /**
   * NBD exports: a volume by id or (when unique) by name, read-write; `<volume>:ro` read-only; a
   * snapshot by id, read-only; an attachment by id, read-only when the attachment is.
   */
  async nbdExport(name: string): Promise<{ device: BlockDevice; readOnly: boolean; description: string } | undefined> {
    const readOnlySuffix = name.endsWith(":ro");
    const base = readOnlySuffix ? name.slice(0, -3) : name;
    const data = this.data;
    let volumeId: string | undefined;
    let readOnly = readOnlySuffix;
    if (data.volumes[base] || data.snapshots[base]) volumeId = base;
    else if (data.attachments[base]) {
      volumeId = data.attachments[base].spec.volume;
      readOnly ||= data.attachments[base].spec.mode === "read-only";
    } else {
      const named = Object.values(data.volumes).filter((v) => v.name === base);
      if (named.length === 1) volumeId = named[0]!.id;
    }
    if (volumeId === undefined) return undefined;
    const device = await this.volumeDevice(volumeId);
    readOnly ||= device.readOnly;
    const object = data.volumes[volumeId] ?? data.snapshots[volumeId];
    return { device, readOnly, description: `${object?.name ?? volumeId}${readOnly ? " (read-only)" : ""}` };
  }

  /** What NBD_OPT_LIST shows: every volume, snapshot and attachment id. */
  nbdNames(): string[] {
    return [...Object.keys(this.data.volumes), ...Object.keys(this.data.snapshots), ...Object.keys(this.data.attachments)].sort();
  }

  /** Flushes and closes every pool (releasing their locks). */
  async close(): Promise<void> {
    if (this.closed) return;
    // Work that was queued is finished; a data plane nothing touched is left as it is.
    if (this.started) await this.settled();
    this.closed = true;
    for (const pool of this.stores.values()) await pool.close().catch(() => undefined);
    this.stores.clear();
  }

  private async reconcile(): Promise<void> {
    const data = this.data;
    // Pools first, then volumes and snapshots in creation order: a clone's source exists before it.
    for (const pool of Object.values(data.pools)) {
      await this.attempt(pool.id, () => this.ensureStore(`pools/${pool.id}`, pool.spec.devices.map((d) => lunBytes(d.sizeGiB))));
    }
    const shared = [
      ...Object.values(data.volumes).map((v) => ({ id: v.id, pool: v.spec.pool, volume: v })),
      ...Object.values(data.snapshots).map((s) => ({ id: s.id, pool: s.pool, snapshot: s })),
    ].sort((a, b) => creationOrder(a.id) - creationOrder(b.id));
    // Started together, in creation order: each call registers its volume with the pool before its
    // first await (so a clone finds the source started just before it), and the pool's metadata
    // commits coalesce into one write instead of one fsynced write per volume.
    const started: Promise<void>[] = [];
    for (const item of shared) {
      const pool = this.stores.get(`pools/${item.pool}`);
      if (!pool) continue; // the pool's failure is recorded
      started.push(this.attempt(item.id, async () => {
        const have = pool.getVolume(item.id);
        if ("volume" in item && item.volume) {
          const bytes = volumeBytes(item.volume.spec.sizeGiB);
          if (!have) {
            const source = item.volume.spec.source;
            // A source without bytes never held any (it came and went between two reconciles, or
            // failed to materialize): the clone starts empty, exactly as its source was.
            const created =
              source !== undefined && pool.getVolume(source) ? pool.cloneVolume(source, item.id) : pool.createVolume(item.id, bytes);
            // A clone starts at its source's size: it grows in the same metadata commit (both
            // calls register before their first await), not in one commit of its own.
            const size = pool.getVolume(item.id)?.sizeBytes;
            await Promise.all([created, size !== undefined && size < bytes ? pool.resizeVolume(item.id, bytes) : undefined]);
          } else if (have.sizeBytes < bytes) {
            await pool.resizeVolume(item.id, bytes);
          }
        } else if (!have) {
          const snapshot = (item as { snapshot: { spec: { volume: string }; sizeGiB: number } }).snapshot;
          if (pool.getVolume(snapshot.spec.volume)) {
            await pool.snapshotVolume(snapshot.spec.volume, item.id);
          } else {
            // Same as above: the volume never had bytes, so the snapshot is of an empty volume.
            const empty = `${item.id}.empty`;
            await pool.createVolume(empty, volumeBytes(snapshot.sizeGiB));
            await pool.snapshotVolume(empty, item.id);
            await pool.deleteVolume(empty);
          }
        }
      }));
    }
    await Promise.all(started);
    // Local disks, on the host each instance runs on.
    const disks = new Map<string, InstanceObject>();
    for (const instance of Object.values(data.instances)) {
      if (instance.state === "terminated" || !(instance.spec.localDiskGiB > 0)) continue;
      const host = data.clusters[instance.spec.cluster]?.hosts.find((h) => h.id === instance.hostId);
      if (!host) continue;
      const id = localDiskId(instance);
      disks.set(id, instance);
      await this.attempt(instance.id, async () => {
        const pool = await this.ensureStore(`local/${host.id}`, [lunBytes(host.localDiskGiB)]);
        if (!pool.getVolume(id)) await pool.createVolume(id, volumeBytes(instance.spec.localDiskGiB));
      });
    }
    // Local disks lose their bytes on stop and terminate (they survive a reboot).
    const events = data.events.filter((e) => e.seq > this.lastSeq);
    for (const event of events) {
      const instance = data.instances[event.id];
      if (!WIPING_EVENTS.has(event.type) || !instance || instance.localDiskEpoch !== undefined) continue;
      const id = localDiskId(instance);
      for (const [key, pool] of this.stores) {
        if (key.startsWith("local/") && pool.getVolume(id)) await this.attempt(event.id, () => pool.discardAll(id));
      }
    }
    // What the document no longer holds goes.
    const hosts = new Set(Object.values(data.clusters).flatMap((c) => c.hosts.map((h) => h.id)));
    for (const [key, pool] of [...this.stores]) {
      const [area, owner] = key.split("/") as [string, string];
      const keep = area === "pools" ? data.pools[owner] !== undefined : hosts.has(owner);
      if (!keep) {
        await this.attempt(owner, async () => {
          this.stores.delete(key);
          await pool.close();
          rmSync(join(this.dir, key), { recursive: true, force: true });
        });
        continue;
      }
      for (const v of pool.listVolumes()) {
        const wanted =
          area === "pools"
            ? (data.volumes[v.id]?.spec.pool ?? data.snapshots[v.id]?.pool) === owner
            : disks.get(v.id)?.hostId === owner;
        if (!wanted) await this.attempt(v.id, () => pool.deleteVolume(v.id));
      }
    }
    // A deleted pool that was never opened here (its bytes were damaged) leaves its directory too;
    // one with a pool.lock is open elsewhere (or its process crashed) and is left alone.
    for (const owner of listDirectory(join(this.dir, "pools"))) {
      if (owner.startsWith(".") || data.pools[owner] !== undefined || this.stores.has(`pools/${owner}`)) continue;
      if (existsSync(join(this.dir, "pools", owner, "pool.lock"))) continue;
      this.failures.delete(owner);
      rmSync(join(this.dir, "pools", owner), { recursive: true, force: true });
    }
    const last = data.events.at(-1)?.seq ?? this.lastSeq;
    if (last !== this.lastSeq) {
      this.lastSeq = last;
      await writeFileAtomicAsync(this.stateFile, JSON.stringify({ lastSeq: last }));
    }
  }

  /** Runs one step, remembering its failure against `id` instead of stopping the reconcile. */
  private async attempt(id: string, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
      this.failures.delete(id);
    } catch (err) {
      this.failures.set(id, (err as Error).message);
    }
  }

  /** Opens (or creates) the pool under `key` and grows its LUNs to the declared sizes. */
  private async ensureStore(key: string, luns: number[]): Promise<ThinPool> {
    const dir = join(this.dir, key);
    let pool = this.stores.get(key);
    if (!pool) {
      if (existsSync(join(dir, METADATA_FILE))) {
        pool = await ThinPool.open(dir);
      } else {
        clearFailedCreate(dir);
        pool = await ThinPool.create(dir, { devices: luns.map((sizeBytes) => ({ sizeBytes })), overcommit: UNLIMITED_OVERCOMMIT });
      }
      this.stores.set(key, pool);
    }
    const current = pool.lunSizes();
    if (luns.length > current.length || luns.some((bytes, i) => bytes > (current[i] ?? 0))) {
      // Growing a LUN or adding one changes the pool's geometry: done offline, between close and open.
      this.stores.delete(key);
      await pool.close();
      await growLuns(dir, luns);
      pool = await ThinPool.open(dir);
      this.stores.set(key, pool);
    }
    return pool;
  }
}

function listDirectory(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * A pool directory without pool.json is what a failed create left (an earlier version kept its
 * empty LUN files, and the next create failed with EEXIST): removed when no file in it holds a
 * byte; one whose files hold data is refused, to be looked at by a person.
 */
function clearFailedCreate(dir: string): void {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return; // no directory: nothing to clear
  }
  const holding = files.filter((f) => statSync(join(dir, f)).blocks > 0 && f !== `${METADATA_FILE}.tmp`);
  if (holding.length > 0) {
    throw new StorageError("EINVAL", `${dir} has no ${METADATA_FILE} but its files ${holding.join(", ")} hold data: restore ${METADATA_FILE}, or remove the directory to start the pool empty`);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Extends LUN files to the sizes given and adds new LUNs; existing extents keep their (lun, slot). */
async function growLuns(dir: string, luns: number[]): Promise<void> {
  const metadata = await readPoolMetadata(dir);
  for (const [index, sizeBytes] of luns.entries()) {
    const record = metadata.luns[index];
    if (record) {
      if (sizeBytes <= record.sizeBytes) continue;
      await truncate(join(dir, record.file), sizeBytes);
      record.sizeBytes = sizeBytes;
    } else {
      const file = `lun-${index}.img`;
      // A LUN file pool.json does not list was left by a grow that failed: it holds nothing.
      const handle = await open(join(dir, file), "w");
      try {
        await handle.truncate(sizeBytes);
        await handle.sync();
      } catch (err) {
        await handle.close();
        rmSync(join(dir, file), { force: true });
        throw err;
      }
      await handle.close();
      metadata.luns.push({ index, file, sizeBytes, highWater: 0 });
    }
  }
  await writePoolMetadata(dir, metadata);
}

/** Storage errors as the emulator's, so the HTTP API answers them with its usual statuses. */
function storageToEmulator(err: unknown): never {
  if (!(err instanceof StorageError)) throw err;
  const code = err.code === "NOT_FOUND" ? "not-found" : err.code === "ENOSPC" || err.code === "EFBIG" || err.code === "QUOTA" || err.code === "OVERCOMMIT" ? "capacity" : err.code === "EINVAL" ? "invalid" : "conflict";
  throw new EmulatorError(code, err.message);
}

export { storageToEmulator };

function view(usage: PoolUsage, errors: Record<string, string>): PoolDataView {
  const chunk = usage.chunkSizeBytes;
  return {
    capacityBytes: usage.capacityBytes,
    allocatedBytes: usage.allocatedBytes,
    usedBytes: usage.usedBytes,
    pendingFreeBytes: usage.pendingFreeBytes,
    chunkSizeBytes: chunk,
    luns: usage.luns.map((l) => ({ lun: l.lun, file: l.file, sizeBytes: l.sizeBytes, usedBytes: l.usedChunks * chunk })),
    volumes: usage.volumes.map((v) => ({
      id: v.id,
      kind: v.kind,
      sizeBytes: v.sizeBytes,
      readOnly: v.readOnly,
      ...(v.origin !== undefined && { origin: v.origin }),
      mappedBytes: v.mappedChunks * chunk,
      exclusiveBytes: v.exclusiveChunks * chunk,
    })),
    errors,
  };
}
