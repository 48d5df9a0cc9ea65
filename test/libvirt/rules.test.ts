// The libvirt backend's refusals over its catalogue (provider/libvirt/rules.ts): table tests, no libvirt.
import { describe, expect, it } from "vitest";
import { Catalogue, type CatalogueRecord } from "../../provider/libvirt/catalogue.ts";
import { checkDelete, checkRoom } from "../../provider/libvirt/rules.ts";

const record = (r: Partial<CatalogueRecord> & Pick<CatalogueRecord, "kind" | "id" | "name">): CatalogueRecord => ({ token: r.id, tags: {}, spec: {}, ...r });
const pool = record({ kind: "StoragePool", id: "pool-1", name: "pool.fast", spec: { devices: [{ sizeGiB: 10 }], overcommit: 1, maxVolumeGiB: 8, quota: { volumes: 2 } } });
const data = record({ kind: "Volume", id: "vol-1", name: "volume.data", host: "qemu:///system", spec: { pool: "pool-1", sizeGiB: 4 } });
const logs = record({ kind: "Volume", id: "vol-2", name: "volume.logs", spec: { pool: "pool-1", sizeGiB: 4, deleteProtection: true } });
const snap = record({ kind: "Snapshot", id: "snap-1", name: "snapshot.before", host: "qemu:///system", spec: { volume: "vol-1" } });
const clone = record({ kind: "Volume", id: "vol-3", name: "volume.copy", host: "qemu:///system", spec: { pool: "pool-1", sizeGiB: 1, source: "snap-1" } });
const app = record({ kind: "Instance", id: "i-1", name: "instances.web/app[0]", spec: { cluster: "cl-1" } });
const attached = record({ kind: "Attachment", id: "att-1", name: "attachment.data@web/app[0]", device: "vdb", spec: { volume: "vol-1", instance: "i-1" } });
const web = record({ kind: "Cluster", id: "cl-1", name: "cluster.web" });
const catalogue = new Catalogue(undefined, [pool, data, logs, snap, clone, app, attached, web]);

describe("deletes libvirt would allow and virtform refuses", () => {
  it.each([
    ["an attached volume", data, "volume volume.data is attached (vdb of instances.web/app[0]); detach it first"],
    ["a protected volume", logs, "volume volume.logs has delete protection; set deleteProtection: false first"],
    ["a snapshot a clone reads through", snap, "snapshot snapshot.before backs the clones volume.copy (qcow2 backing files); delete them first"],
    ["a cluster with instances", web, "cluster cluster.web still runs 1 instance(s): instances.web/app[0]"],
    ["a pool with volumes", pool, "pool pool.fast still holds volumes volume.data, volume.logs, volume.copy"],
  ])("%s", (_what, r, message) => {
    expect(() => checkDelete(catalogue, r)).toThrow(message);
  });

  it("lets a clone go", () => {
    expect(() => checkDelete(catalogue, clone)).not.toThrow();
  });
});

describe("a pool's room", () => {
  const fresh = record({ kind: "Volume", id: "vol-9", name: "volume.new", spec: { pool: "pool-1" } });
  it.each([
    ["above the largest volume", fresh, 9, "volume volume.new asks 9 GiB; pool pool.fast allows at most 8 GiB per volume"],
    ["beyond the volume quota", fresh, 1, "pool pool.fast has a quota of 2 volumes and holds 3; volume volume.new would exceed it"],
    ["a grow beyond what the devices provision", data, 6, "pool pool.fast cannot provision 6 GiB for volume volume.data: 5 of 10 GiB are already allocated"],
  ])("%s", (_what, volume, size, message) => {
    expect(() => checkRoom(catalogue, volume, pool, size)).toThrow(message);
  });

  it("grows a volume that fits", () => {
    expect(() => checkRoom(catalogue, data, pool, 5)).not.toThrow();
  });
});
