// The data plane's reconcile plan, table-tested: from a control-plane document and what the open
// stores hold, which stores are ensured and which volumes are created, grown, wiped and deleted.
import { describe, expect, it } from "vitest";
import { type EmulatorData, emptyData } from "../../emulator/data.ts";
import { type ContentsPlan, type Observed, planContents, planStores } from "../../emulator/data-plane/reconcile-plan.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A document from a compact description; only the fields the planner reads are filled in. */
function doc(parts: {
  pools?: Record<string, number[]>;
  volumes?: Record<string, { pool: string; sizeGiB: number; source?: string; name?: string }>;
  snapshots?: Record<string, { pool: string; volume: string; sizeGiB: number }>;
  hosts?: Record<string, number>;
  instances?: Record<string, { host: string; localDiskGiB: number; state?: string; epoch?: number }>;
  events?: { seq: number; type: string; id: string }[];
}): EmulatorData {
  const data = emptyData();
  const set = (record: object, id: string, value: object) => ((record as Record<string, unknown>)[id] = { id, name: id, ...value });
  for (const [id, devices] of Object.entries(parts.pools ?? {})) set(data.pools, id, { spec: { devices: devices.map((sizeGiB) => ({ sizeGiB })) } });
  for (const [id, v] of Object.entries(parts.volumes ?? {})) set(data.volumes, id, { spec: { pool: v.pool, sizeGiB: v.sizeGiB, ...(v.source && { source: v.source }) } });
  for (const [id, s] of Object.entries(parts.snapshots ?? {})) set(data.snapshots, id, { pool: s.pool, sizeGiB: s.sizeGiB, spec: { volume: s.volume } });
  if (parts.hosts) {
    const hosts = Object.entries(parts.hosts).map(([id, localDiskGiB], index) => ({ id, index, vcpu: 8, memoryGiB: 32, localDiskGiB }));
    set(data.clusters, "cluster-1", { hosts, spec: {} });
  }
  for (const [id, i] of Object.entries(parts.instances ?? {})) {
    set(data.instances, id, {
      hostId: i.host,
      state: i.state ?? "running",
      ...(i.epoch !== undefined && { localDiskEpoch: i.epoch }),
      spec: { cluster: "cluster-1", localDiskGiB: i.localDiskGiB },
    });
  }
  data.events = (parts.events ?? []).map((e) => ({ ...e, time: "t" }));
  return data;
}

function observed(stores: Record<string, Record<string, number>> = {}, extra: Partial<Observed> = {}): Observed {
  return {
    stores: new Map(Object.entries(stores).map(([key, volumes]) => [key, new Map(Object.entries(volumes))])),
    poolDirs: [],
    lastSeq: 0,
    ...extra,
  };
}

const none: ContentsPlan = { volumes: [], localDisks: [], wipes: [], removeStores: [], deleteVolumes: [], removeDirs: [] };

describe("planStores", () => {
  it.each([
    ["no pools, no instances: nothing", doc({}), []],
    [
      "one store per pool, LUNs in whole MiB chunks of at least one",
      doc({ pools: { "pool-1": [1, 0.0000001] } }),
      [{ key: "pools/pool-1", lunBytes: [GiB, MiB], failureIds: ["pool-1"] }],
    ],
    [
      "one store per host with local disks; its failure is shown on each of its instances",
      doc({
        hosts: { "host-a": 100, "host-b": 50 },
        instances: {
          "instance-1": { host: "host-a", localDiskGiB: 10 },
          "instance-2": { host: "host-a", localDiskGiB: 10 },
          "instance-3": { host: "host-b", localDiskGiB: 0 },
          "instance-4": { host: "host-b", localDiskGiB: 10, state: "terminated" },
        },
      }),
      [{ key: "local/host-a", lunBytes: [100 * GiB], failureIds: ["instance-1", "instance-2"] }],
    ],
  ])("%s", (_name, data, expected) => {
    expect(planStores(data)).toEqual(expected);
  });
});

describe("planContents", () => {
  const pool = { pools: { "pool-1": [10] } };
  it.each<[string, EmulatorData, Observed, Partial<ContentsPlan>]>([
    ["a store that is not open gets no step", doc({ ...pool, volumes: { "volume-2": { pool: "pool-1", sizeGiB: 1 } } }), observed(), {}],
    [
      "a missing volume is created, a smaller one grown, an equal one left",
      doc({ ...pool, volumes: { "volume-2": { pool: "pool-1", sizeGiB: 1 }, "volume-3": { pool: "pool-1", sizeGiB: 2 }, "volume-4": { pool: "pool-1", sizeGiB: 1 } } }),
      observed({ "pools/pool-1": { "volume-3": GiB, "volume-4": GiB } }),
      {
        volumes: [
          { type: "create-volume", store: "pools/pool-1", id: "volume-2", sizeBytes: GiB },
          { type: "grow-volume", store: "pools/pool-1", id: "volume-3", sizeBytes: 2 * GiB },
        ],
      },
    ],
    [
      "creation order is the id's hex counter: a clone and a snapshot of a volume created in the same pass share it",
      doc({
        ...pool,
        volumes: { "volume-a": { pool: "pool-1", sizeGiB: 1, source: "volume-9" }, "volume-9": { pool: "pool-1", sizeGiB: 1 } },
        snapshots: { "snapshot-b": { pool: "pool-1", volume: "volume-9", sizeGiB: 1 } },
      }),
      observed({ "pools/pool-1": {} }),
      {
        volumes: [
          { type: "create-volume", store: "pools/pool-1", id: "volume-9", sizeBytes: GiB },
          { type: "create-volume", store: "pools/pool-1", id: "volume-a", sizeBytes: GiB, cloneOf: "volume-9" },
          { type: "create-snapshot", store: "pools/pool-1", id: "snapshot-b", sizeBytes: GiB, of: "volume-9" },
        ],
      },
    ],
    [
      "a clone or snapshot of a volume that never had bytes starts empty",
      doc({
        ...pool,
        volumes: { "volume-3": { pool: "pool-1", sizeGiB: 1, source: "volume-gone" } },
        snapshots: { "snapshot-4": { pool: "pool-1", volume: "volume-gone", sizeGiB: 2 } },
      }),
      observed({ "pools/pool-1": {} }),
      {
        volumes: [
          { type: "create-volume", store: "pools/pool-1", id: "volume-3", sizeBytes: GiB },
          { type: "create-snapshot", store: "pools/pool-1", id: "snapshot-4", sizeBytes: 2 * GiB },
        ],
      },
    ],
    [
      "an existing snapshot is left as it is",
      doc({ ...pool, volumes: { "volume-2": { pool: "pool-1", sizeGiB: 1 } }, snapshots: { "snapshot-3": { pool: "pool-1", volume: "volume-2", sizeGiB: 1 } } }),
      observed({ "pools/pool-1": { "volume-2": GiB, "snapshot-3": GiB } }),
      {},
    ],
    [
      "what the document no longer holds goes: volumes of a kept pool, a deleted pool's store, a stray unlocked directory",
      doc({ ...pool, volumes: { "volume-2": { pool: "pool-1", sizeGiB: 1 } } }),
      observed(
        { "pools/pool-1": { "volume-2": GiB, "volume-old": GiB }, "pools/pool-gone": { "volume-x": GiB } },
        { poolDirs: [{ owner: "pool-1", locked: true }, { owner: "pool-gone", locked: true }, { owner: "pool-damaged", locked: false }, { owner: "pool-elsewhere", locked: true }] },
      ),
      {
        removeStores: [{ key: "pools/pool-gone", owner: "pool-gone" }],
        deleteVolumes: [{ store: "pools/pool-1", id: "volume-old" }],
        removeDirs: ["pool-damaged"],
      },
    ],
    [
      "local disks: created on their host's store, gone with their instance, a host that left takes its store",
      doc({
        hosts: { "host-a": 100 },
        instances: { "instance-1": { host: "host-a", localDiskGiB: 10, epoch: 2 }, "instance-2": { host: "host-a", localDiskGiB: 10 } },
      }),
      observed({ "local/host-a": { "instance-2.0": 10 * GiB, "instance-1.1": 10 * GiB, "instance-9.0": GiB }, "local/host-gone": {} }),
      {
        localDisks: [{ type: "create-local-disk", store: "local/host-a", id: "instance-1.2", sizeBytes: 10 * GiB, instanceId: "instance-1" }],
        removeStores: [{ key: "local/host-gone", owner: "host-gone" }],
        deleteVolumes: [
          { store: "local/host-a", id: "instance-1.1" },
          { store: "local/host-a", id: "instance-9.0" },
        ],
      },
    ],
    [
      "events after the last one acted on wipe disks without epochs, and the new last one is recorded",
      doc({
        hosts: { "host-a": 100 },
        instances: { "instance-1": { host: "host-a", localDiskGiB: 10 }, "instance-2": { host: "host-a", localDiskGiB: 10, epoch: 1 } },
        events: [
          { seq: 4, type: "instance.stopped", id: "instance-1" },
          { seq: 5, type: "instance.stopped", id: "instance-1" },
          { seq: 6, type: "instance.started", id: "instance-1" },
          { seq: 7, type: "instance.stopped", id: "instance-2" },
        ],
      }),
      observed({ "local/host-a": { "instance-1.0": 10 * GiB, "instance-2.1": 10 * GiB } }, { lastSeq: 4 }),
      { wipes: [{ eventId: "instance-1", id: "instance-1.0" }], recordSeq: 7 },
    ],
  ])("%s", (_name, data, seen, expected) => {
    expect(planContents(data, seen)).toEqual({ ...none, ...expected });
  });
});
