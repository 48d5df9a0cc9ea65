// The emulator's data plane: the bytes behind the control plane's objects.
//
//   <dataDir>/pools/<poolId>/   a ThinPool per StoragePool, one LUN file per declared device;
//                               volumes and snapshots are thin volumes named by their ids
//   <dataDir>/local/<hostId>/   a ThinPool per host holding its instances' local disks (one LUN
//                               of the host's local disk size), created when a disk first lands there
//   <dataDir>/data-plane.json   the last control-plane event acted on
//
// The control plane stays synchronous and deterministic (rehearsals are plain copies of it). After
// each committed transaction the data plane reconciles: data-plane/reconcile-plan.ts computes the
// steps from the document and the open stores, and this file carries them out. A reconcile is a
// full comparison, so one that a crash cut short is finished by the next start. Failures never
// undo a committed transaction: they are kept per object and shown by `usage()` and by every data
// request that needs the object. Which bytes a request reaches is data-plane/device-access.ts.
import { existsSync, readdirSync, rmSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { writeFileAtomicAsync } from "../durable/write-file-atomic.ts";
import { join } from "node:path";
import type { HostStorage } from "./context.ts";
import type { EmulatorData, InstanceObject, PoolObject } from "./data.ts";
import { EmulatorError } from "./errors.ts";
import { exportNames, exportTarget, instanceDeviceTarget } from "./data-plane/device-access.ts";
import { type EnsureStore, type VolumeAction, planContents, planStores } from "./data-plane/reconcile-plan.ts";
import { hostStoreKey, localDiskId, lunBytes, poolStoreKey } from "./data-plane/sizes.ts";
import { storageToEmulator } from "./data-plane/storage-errors.ts";
import { type BlockDevice, StorageError, readOnlyView } from "./block/block-device.ts";
import { CHUNK_SIZE_BYTES } from "./block/chunk-span.ts";
import { checkLunSpace } from "./block/lun-space.ts";
import { METADATA_FILE } from "./block/pool-metadata.ts";
import type { PoolUsage, ThinPool } from "./block/thin-pool.ts";

/**
 * The block layer, loaded when a store is first opened: a plan opens none (it reads the document and
 * checks the host's free space), and starts without these modules.
 */
const blockLayer = () => import("./block/thin-pool.ts");

/** The control plane enforces the declared overcommit; the ThinPool's own limit stays out of its way. */
const UNLIMITED_OVERCOMMIT = 1e9;
/** How long a reconcile waits for more transactions to join it, unless someone waits for the bytes. */
const RECONCILE_DELAY_MS = 200;

export { storageToEmulator } from "./data-plane/storage-errors.ts";

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
    const pool = this.stores.get(poolStoreKey(poolId));
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

  /** Bytes an instance's local disk holds (its mapped chunks); undefined when it has none. */
  async localDiskWrittenBytes(instanceId: string): Promise<number | undefined> {
    await this.settled();
    const instance = this.data.instances[instanceId];
    if (!instance || !(instance.spec.localDiskGiB > 0)) return undefined;
    const info = this.stores.get(hostStoreKey(instance.hostId))?.getVolume(localDiskId(instance));
    return info ? info.mappedChunks * CHUNK_SIZE_BYTES : undefined;
  }

  /** The block device of a volume or snapshot (snapshots are read-only). */
  async volumeDevice(id: string): Promise<BlockDevice> {
    await this.settled();
    const poolId = this.data.volumes[id]?.spec.pool ?? this.data.snapshots[id]?.pool;
    if (poolId === undefined) throw new StorageError("NOT_FOUND", `no volume or snapshot ${id}`);
    const pool = this.stores.get(poolStoreKey(poolId));
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
    const pool = this.stores.get(hostStoreKey(instance.hostId));
    const id = localDiskId(instance);
    if (!pool?.getVolume(id)) {
      throw new StorageError("NOT_FOUND", `the local disk of ${instance.name} has no data: ${this.failures.get(instance.id) ?? "not created yet"}`);
    }
    return pool.device(id);
  }

  /** A device of a running instance for the devices API (policy: data-plane/device-access.ts). */
  async instanceDevice(instanceId: string, name: string, access: "read" | "write"): Promise<{ device: BlockDevice; what: string }> {
    await this.settled();
    const target = instanceDeviceTarget(this.data, instanceId, name, access);
    if (target.kind === "local-disk") {
      const disk = await this.localDisk(target.instance).catch(storageToEmulator);
      if (!disk) throw new EmulatorError("not-found", `instance ${target.instance.name} has no local disk (localDiskGiB is 0)`);
      return { device: disk, what: target.what };
    }
    const device = await this.volumeDevice(target.volumeId).catch(storageToEmulator);
    return { device: target.readOnly ? readOnlyView(device) : device, what: target.what };
  }

  /** The device an NBD export name reaches (names: data-plane/device-access.ts). */
  async nbdExport(name: string): Promise<{ device: BlockDevice; readOnly: boolean; description: string } | undefined> {
    const target = exportTarget(this.data, name);
    if (target === undefined) return undefined;
    const device = await this.volumeDevice(target.volumeId);
    const readOnly = target.readOnly || device.readOnly;
    const object = this.data.volumes[target.volumeId] ?? this.data.snapshots[target.volumeId];
    return { device, readOnly, description: `${object?.name ?? target.volumeId}${readOnly ? " (read-only)" : ""}` };
  }

  /** What NBD_OPT_LIST shows: every volume, snapshot and attachment id. */
  nbdNames(): string[] {
    return exportNames(this.data);
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

  /** Plans the stores, opens them, plans their contents, and carries the plan out. */
  private async reconcile(): Promise<void> {
    const data = this.data;
    for (const store of planStores(data)) await this.attempt(store.failureIds, () => this.ensureStore(store));
    const stores = new Map([...this.stores].map(([key, pool]) => [key, new Map(pool.listVolumes().map((v) => [v.id, v.sizeBytes]))]));
    const poolDirs = listDirectory(join(this.dir, "pools"))
      .filter((owner) => !owner.startsWith("."))
      .map((owner) => ({ owner, locked: existsSync(join(this.dir, "pools", owner, "pool.lock")) }));
    const plan = planContents(data, { stores, poolDirs, lastSeq: this.lastSeq });
    // Started together, in creation order: each call registers its volume with the pool before its
    // first await (so a clone finds the source started just before it), and the pool's metadata
    // commits coalesce into one write instead of one fsynced write per volume.
    await Promise.all(plan.volumes.map((action) => this.attempt([action.id], () => this.runVolumeAction(action))));
    for (const action of plan.localDisks) await this.attempt([action.instanceId], () => this.runVolumeAction(action));
    for (const wipe of plan.wipes) {
      for (const [key, pool] of this.stores) {
        if (key.startsWith("local/") && pool.getVolume(wipe.id)) await this.attempt([wipe.eventId], () => pool.discardAll(wipe.id));
      }
    }
    for (const { key, owner } of plan.removeStores) {
      const pool = this.stores.get(key);
      if (!pool) continue;
      await this.attempt([owner], async () => {
        this.stores.delete(key);
        await pool.close();
        rmSync(join(this.dir, key), { recursive: true, force: true });
      });
    }
    for (const { store, id } of plan.deleteVolumes) {
      const pool = this.stores.get(store);
      if (pool?.getVolume(id)) await this.attempt([id], () => pool.deleteVolume(id));
    }
    for (const owner of plan.removeDirs) {
      this.failures.delete(owner);
      rmSync(join(this.dir, "pools", owner), { recursive: true, force: true });
    }
    if (plan.recordSeq !== undefined) {
      this.lastSeq = plan.recordSeq;
      await writeFileAtomicAsync(this.stateFile, JSON.stringify({ lastSeq: plan.recordSeq }));
    }
  }

  private async runVolumeAction(action: VolumeAction): Promise<void> {
    const pool = this.stores.get(action.store);
    if (!pool) return; // its store failed: that failure is recorded
    switch (action.type) {
      case "create-volume": {
        const created = action.cloneOf !== undefined && pool.getVolume(action.cloneOf) ? pool.cloneVolume(action.cloneOf, action.id) : pool.createVolume(action.id, action.sizeBytes);
        // A clone starts at its source's size: it grows in the same metadata commit (both
        // calls register before their first await), not in one commit of its own.
        const size = pool.getVolume(action.id)?.sizeBytes;
        await Promise.all([created, size !== undefined && size < action.sizeBytes ? pool.resizeVolume(action.id, action.sizeBytes) : undefined]);
        return;
      }
      case "grow-volume":
        await pool.resizeVolume(action.id, action.sizeBytes);
        return;
      case "create-snapshot": {
        if (action.of !== undefined && pool.getVolume(action.of)) {
          await pool.snapshotVolume(action.of, action.id);
          return;
        }
        // The volume never had bytes: the snapshot is of an empty volume.
        const empty = `${action.id}.empty`;
        await pool.createVolume(empty, action.sizeBytes);
        await pool.snapshotVolume(empty, action.id);
        await pool.deleteVolume(empty);
        return;
      }
      case "create-local-disk":
        if (!pool.getVolume(action.id)) await pool.createVolume(action.id, action.sizeBytes);
        return;
    }
  }

  /** Runs one step, remembering its failure against `ids` instead of stopping the reconcile. */
  private async attempt(ids: readonly string[], step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
      for (const id of ids) this.failures.delete(id);
    } catch (err) {
      for (const id of ids) this.failures.set(id, (err as Error).message);
    }
  }

  /** Opens (or creates) a store and grows its LUNs to the declared sizes. */
  private async ensureStore(store: EnsureStore): Promise<ThinPool> {
    const dir = join(this.dir, store.key);
    let pool = this.stores.get(store.key);
    if (!pool) {
      const { ThinPool } = await blockLayer();
      if (existsSync(join(dir, METADATA_FILE))) {
        pool = await ThinPool.open(dir);
      } else {
        clearFailedCreate(dir);
        pool = await ThinPool.create(dir, { devices: store.lunBytes.map((sizeBytes) => ({ sizeBytes })), overcommit: UNLIMITED_OVERCOMMIT });
      }
      this.stores.set(store.key, pool);
    }
    await pool.grow(store.lunBytes);
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
