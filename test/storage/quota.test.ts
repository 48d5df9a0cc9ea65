// Per-pool quotas: a count of volumes and a GiB ceiling below what overcommit allows.
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";

describe("pool quotas", () => {
  it("refuse the volume past the count and the GiB past the ceiling, naming both numbers", () => {
    const emulator = Emulator.inMemory();
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }], overcommit: 4, quota: { volumes: 2, allocatedGiB: 150 } }, { name: "pool.q" });
    const a = emulator.create("Volume", { pool: pool.id, sizeGiB: 100 }, { name: "volume.a" });
    expect(() => emulator.create("Volume", { pool: pool.id, sizeGiB: 60 }, { name: "volume.b" })).toThrow(
      "pool pool.q has a quota of 150 GiB allocated; volume volume.b asks 60 GiB with 100 GiB already allocated",
    );
    emulator.create("Volume", { pool: pool.id, sizeGiB: 50 }, { name: "volume.b" });
    expect(() => emulator.create("Volume", { pool: pool.id, sizeGiB: 1 }, { name: "volume.c" })).toThrow(
      "pool pool.q has a quota of 2 volumes and holds 2; volume volume.c would exceed it",
    );
    // Growing counts against the GiB quota, not the count.
    expect(() => emulator.update("Volume", a.id, { pool: pool.id, sizeGiB: 101 }, { restart: false })).toThrow("quota of 150 GiB");
    // Raising the quota in place lets it through.
    emulator.update("StoragePool", pool.id, { media: "ssd", devices: [{ sizeGiB: 100 }], overcommit: 4, quota: { volumes: 3, allocatedGiB: 400 } }, { restart: false });
    expect(emulator.update("Volume", a.id, { pool: pool.id, sizeGiB: 200 }, { restart: false }).spec.sizeGiB).toBe(200);
    expect(emulator.list("Volume")).toHaveLength(2);
  });
});
