// What a reconcile does, computed purely from the control-plane document and what the data plane
// holds; data-plane.ts carries the actions out. Two passes, because the volumes a store holds are
// known only once it is open: first the stores (`planStores`), then everything in them (`planContents`).
//
// Failures are recorded per object id (`failureIds`): a step that fails never stops the others.

import type { EmulatorData, InstanceObject } from "../data.ts";
import { hostStoreKey, localDiskId, lunBytes, poolStoreKey, volumeBytes } from "./sizes.ts";

/** Events after which an instance's local disk holds nothing, for data written before disks had epochs. */
const WIPING_EVENTS = new Set(["instance.local-disk-wiped", "instance.stopped", "instance.terminated"]);

/** Open (or create) a store and grow its LUNs to the declared sizes. */
export interface EnsureStore {
  key: string;
  lunBytes: number[];
  /** Where its failure is shown: the pool, or every instance whose local disk it holds. */
  failureIds: string[];
}

/** A volume or snapshot step; the steps of one pass start together, in creation order. */
export type VolumeAction =
  | { type: "create-volume"; store: string; id: string; sizeBytes: number; cloneOf?: string }
  | { type: "grow-volume"; store: string; id: string; sizeBytes: number }
  /** `of` absent: the volume never had bytes, so this is a snapshot of an empty volume. */
  | { type: "create-snapshot"; store: string; id: string; sizeBytes: number; of?: string }
  | { type: "create-local-disk"; store: string; id: string; sizeBytes: number; instanceId: string };

export interface ContentsPlan {
  /** Started together (each registers with its pool before its first await). */
  volumes: VolumeAction[];
  /** Then, one at a time. */
  localDisks: Extract<VolumeAction, { type: "create-local-disk" }>[];
  /** Local disks whose bytes an event since the last reconcile wiped (by `eventId`). */
  wipes: { eventId: string; id: string }[];
  /** Stores the document no longer holds: closed and removed. */
  removeStores: { key: string; owner: string }[];
  deleteVolumes: { store: string; id: string }[];
  /** Pool directories of deleted pools that no open store owns and no process holds (no pool.lock). */
  removeDirs: string[];
  /** The last event acted on, when it changed. */
  recordSeq?: number;
}

/** What the data plane holds right now. */
export interface Observed {
  /** Open stores: key -> their volumes' sizes by id. */
  stores: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Directories under `pools/` (excluding dot-files) and whether a pool.lock is in each. */
  poolDirs: readonly { owner: string; locked: boolean }[];
  lastSeq: number;
}

/** Ids are `<prefix>-<hex counter>`; the counter orders creations across collections. */
export function creationOrder(id: string): number {
  return Number.parseInt(id.slice(id.lastIndexOf("-") + 1), 16) || 0;
}

/** Running instances' local disks by volume id, with the host they live on. */
function localDisks(data: EmulatorData): Map<string, { instance: InstanceObject; localDiskGiB: number }> {
  const disks = new Map<string, { instance: InstanceObject; localDiskGiB: number }>();
  for (const instance of Object.values(data.instances)) {
    if (instance.state === "terminated" || !(instance.spec.localDiskGiB > 0)) continue;
    const host = data.clusters[instance.spec.cluster]?.hosts.find((h) => h.id === instance.hostId);
    if (!host) continue;
    disks.set(localDiskId(instance), { instance, localDiskGiB: host.localDiskGiB });
  }
  return disks;
}

/** Every store the document needs: one per pool, one per host holding a local disk. */
export function planStores(data: EmulatorData): EnsureStore[] {
  const stores: EnsureStore[] = Object.values(data.pools).map((pool) => ({
    key: poolStoreKey(pool.id),
    lunBytes: pool.spec.devices.map((d) => lunBytes(d.sizeGiB)),
    failureIds: [pool.id],
  }));
  const hosts = new Map<string, EnsureStore>();
  for (const { instance, localDiskGiB } of localDisks(data).values()) {
    const key = hostStoreKey(instance.hostId);
    const store = hosts.get(key) ?? { key, lunBytes: [lunBytes(localDiskGiB)], failureIds: [] };
    store.failureIds.push(instance.id);
    hosts.set(key, store);
  }
  return [...stores, ...hosts.values()];
}

/**
 * Given the open stores, what to create, grow, wipe and delete: whatever the document declares and
 * the stores lack is created (clones and snapshots copy-on-write, in creation order), growth is
 * applied, what the document no longer holds goes. A store that is not open (its ensure failed)
 * gets no step: its failure is already recorded.
 */
export function planContents(data: EmulatorData, observed: Observed): ContentsPlan {
  const plan: ContentsPlan = { volumes: [], localDisks: [], wipes: [], removeStores: [], deleteVolumes: [], removeDirs: [] };
  // What each store will hold once the steps before run (a clone's source may be created just before it).
  const will = new Map<string, Set<string>>();
  for (const [key, volumes] of observed.stores) will.set(key, new Set(volumes.keys()));
  const shared = [
    ...Object.values(data.volumes).map((v) => ({ id: v.id, pool: v.spec.pool, volume: v, snapshot: undefined })),
    ...Object.values(data.snapshots).map((s) => ({ id: s.id, pool: s.pool, volume: undefined, snapshot: s })),
  ].sort((a, b) => creationOrder(a.id) - creationOrder(b.id));
  for (const item of shared) {
    const store = poolStoreKey(item.pool);
    const has = will.get(store);
    if (!has) continue;
    const size = observed.stores.get(store)?.get(item.id);
    if (item.volume) {
      const sizeBytes = volumeBytes(item.volume.spec.sizeGiB);
      if (size === undefined) {
        // A source without bytes never held any (it came and went between two reconciles, or
        // failed to materialize): the clone starts empty, exactly as its source was.
        const source = item.volume.spec.source;
        const cloneOf = source !== undefined && has.has(source) ? source : undefined;
        plan.volumes.push({ type: "create-volume", store, id: item.id, sizeBytes, ...(cloneOf !== undefined && { cloneOf }) });
        has.add(item.id);
      } else if (size < sizeBytes) {
        plan.volumes.push({ type: "grow-volume", store, id: item.id, sizeBytes });
      }
    } else if (item.snapshot && size === undefined) {
      const of = item.snapshot.spec.volume;
      plan.volumes.push({
        type: "create-snapshot",
        store,
        id: item.id,
        sizeBytes: volumeBytes(item.snapshot.sizeGiB),
        ...(has.has(of) && { of }),
      });
      has.add(item.id);
    }
  }
  const disks = localDisks(data);
  for (const [id, { instance }] of disks) {
    const store = hostStoreKey(instance.hostId);
    if (!will.get(store) || observed.stores.get(store)?.has(id)) continue;
    plan.localDisks.push({ type: "create-local-disk", store, id, sizeBytes: volumeBytes(instance.spec.localDiskGiB), instanceId: instance.id });
  }
  // Local disks lose their bytes on stop and terminate (they survive a reboot).
  for (const event of data.events) {
    if (event.seq <= observed.lastSeq) continue;
    const instance = data.instances[event.id];
    if (!WIPING_EVENTS.has(event.type) || !instance || instance.localDiskEpoch !== undefined) continue;
    plan.wipes.push({ eventId: event.id, id: localDiskId(instance) });
  }
  // What the document no longer holds goes.
  const hosts = new Set(Object.values(data.clusters).flatMap((c) => c.hosts.map((h) => h.id)));
  for (const [key, volumes] of observed.stores) {
    const [area, owner] = key.split("/") as [string, string];
    const keep = area === "pools" ? data.pools[owner] !== undefined : hosts.has(owner);
    if (!keep) {
      plan.removeStores.push({ key, owner });
      continue;
    }
    for (const id of volumes.keys()) {
      const wanted =
        area === "pools"
          ? (data.volumes[id]?.spec.pool ?? data.snapshots[id]?.pool) === owner
          : disks.get(id)?.instance.hostId === owner;
      if (!wanted) plan.deleteVolumes.push({ store: key, id });
    }
  }
  // A deleted pool that was never opened here (its bytes were damaged) leaves its directory too;
  // one with a pool.lock is open elsewhere (or its process crashed) and is left alone.
  for (const { owner, locked } of observed.poolDirs) {
    // An open store has our pool.lock: `removeStores` covers it.
    if (data.pools[owner] !== undefined || locked || observed.stores.has(poolStoreKey(owner))) continue;
    plan.removeDirs.push(owner);
  }
  const last = data.events.at(-1)?.seq ?? observed.lastSeq;
  if (last !== observed.lastSeq) plan.recordSeq = last;
  return plan;
}
