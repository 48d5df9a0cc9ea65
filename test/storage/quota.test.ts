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

describe("pool allocation index", () => {
  it("agrees with the volumes themselves through creates, grows, deletes and refused changes", async () => {
    const { mulberry32 } = await import("../helpers/random.ts");
    const next = mulberry32(7);
    const emulator = Emulator.inMemory();
    const pools = [0, 1].map((i) =>
      emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }], overcommit: 2 }, { name: `pool.p${i}` }).id,
    );
    let refused = 0;
    for (let step = 0; step < 400; step++) {
      const volumes = emulator.list("Volume");
      const pool = pools[Math.floor(next() * 2)]!;
      const allocated = volumes.filter((v) => v.spec.pool === pool).reduce((sum, v) => sum + (v.spec.sizeGiB as number), 0);
      const size = 1 + Math.floor(next() * 40);
      const roll = next();
      try {
        if (roll < 0.5 || volumes.length === 0) {
          emulator.create("Volume", { pool, sizeGiB: size }, { name: `volume.v${step}` });
          expect(allocated + size).toBeLessThanOrEqual(200); // it fit, so the index agreed it would
        } else {
          const victim = volumes[Math.floor(next() * volumes.length)]!;
          if (roll < 0.8) {
            const inPool = volumes.filter((v) => v.spec.pool === victim.spec.pool).reduce((sum, v) => sum + (v.spec.sizeGiB as number), 0);
            const fits = inPool + size <= 200;
            let grew = true;
            try {
              emulator.update("Volume", victim.id, { ...victim.spec, sizeGiB: (victim.spec.sizeGiB as number) + size }, { restart: false });
            } catch {
              grew = false;
            }
            expect(grew).toBe(fits); // a grow is refused exactly when the pool has no room for it
            if (!grew) refused++;
          } else emulator.delete("Volume", victim.id);
        }
      } catch (err) {
        refused++;
        expect((err as { code?: string }).code).toBe("capacity");
        if (roll < 0.5) expect(allocated + size).toBeGreaterThan(200); // refused only when it did not fit
      }
      for (const p of pools) {
        const sum = emulator.list("Volume").filter((v) => v.spec.pool === p).reduce((s, v) => s + (v.spec.sizeGiB as number), 0);
        const row = emulator.capacity().find((r) => r.owner === (p === pools[0] ? "pool.p0" : "pool.p1"))!;
        expect(row.used).toBe(sum);
      }
    }
    expect(refused).toBeGreaterThan(10); // the pools did fill up, so refusals were exercised
  });
});
