// ThinPool.grow(): LUNs grow and new ones are added while the pool is open. Growing a LUN before
// the last renumbers every slot after it, so this checks that extents keep their (LUN, slot), that
// shared chunks stay shared, that a read in flight and a device
// taken before the grow still see the right bytes, and that the new space is used and survives a
// reopen.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readPoolMetadata } from "../../emulator/block/pool-metadata.ts";
import { ThinPool } from "../../emulator/block/thin-pool.ts";
import { tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Bytes that differ per MiB, so a chunk read from the wrong slot shows. */
function pattern(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4096) out.fill((seed + i / MiB) & 0xff, i, i + 4096);
  return out;
}

describe("ThinPool.grow", () => {
  it("grows a LUN before the last and appends one, online, keeping bytes and sharing", async () => {
    const dir = await tempDir("grow");
    const path = join(dir.path, "pool");
    let pool = await ThinPool.create(path, { devices: [{ sizeBytes: 4 * MiB }, { sizeBytes: 4 * MiB }], overcommit: 4 });
    cleanups.push(dir.remove, () => pool.close());
    await pool.createVolume("v", 12 * MiB);
    const device = pool.device("v");
    const data = pattern(7 * MiB, 1);
    await device.write(0, data); // 7 chunks: LUN 0 full, 3 on LUN 1
    await pool.snapshotVolume("v", "snap");
    await device.trim(6 * MiB, MiB); // the snapshot still holds that chunk
    const before = pool.usage();
    const extentsBefore = before.volumes.map((v) => [v.id, v.extents]);

    const reading = device.read(0, 4 * MiB); // a parallel read in flight across the grow
    await pool.grow([8 * MiB, 4 * MiB, 4 * MiB]);
    expect((await reading).equals(data.subarray(0, 4 * MiB))).toBe(true);

    expect(pool.lunSizes()).toEqual([8 * MiB, 4 * MiB, 4 * MiB]);
    const after = pool.usage();
    expect(after.capacityBytes).toBe(16 * MiB);
    expect(after.volumes.map((v) => [v.id, v.extents])).toEqual(extentsBefore);
    expect(after.usedBytes).toBe(before.usedBytes);
    const expected = Buffer.concat([data.subarray(0, 6 * MiB), Buffer.alloc(6 * MiB)]);
    expect((await device.read(0, 12 * MiB)).equals(expected)).toBe(true);

    // The new space takes writes: 6 more chunks do not fit in the 1 slot the old geometry had left;
    // the snapshot keeps its bytes (the written chunks it shares are copied).
    const more = pattern(6 * MiB, 9);
    await device.write(5 * MiB, more);
    expected.set(more, 5 * MiB);
    expect((await device.read(0, 12 * MiB)).equals(expected)).toBe(true);
    expect((await pool.device("snap").read(0, 7 * MiB)).equals(data)).toBe(true);

    await pool.close();
    const metadata = await readPoolMetadata(path);
    expect(metadata.luns.map((l) => [l.file, l.sizeBytes])).toEqual([
      ["lun-0.img", 8 * MiB],
      ["lun-1.img", 4 * MiB],
      ["lun-2.img", 4 * MiB],
    ]);
    pool = await ThinPool.open(path);
    expect((await pool.device("v").read(0, 12 * MiB)).equals(expected)).toBe(true);
  });

  it("changes nothing when no LUN grows (a smaller size is not a shrink), and refuses a LUN under one chunk", async () => {
    const dir = await tempDir("grow");
    const path = join(dir.path, "pool");
    const pool = await ThinPool.create(path, { devices: [{ sizeBytes: 4 * MiB }] });
    cleanups.push(dir.remove, () => pool.close());
    const generation = (await readPoolMetadata(path)).generation;
    await pool.grow([2 * MiB]);
    expect(pool.lunSizes()).toEqual([4 * MiB]);
    expect((await readPoolMetadata(path)).generation).toBe(generation);
    await expect(pool.grow([4 * MiB, 1024])).rejects.toThrow(/LUN 1: size 1024 is below one chunk/);
    expect(pool.lunSizes()).toEqual([4 * MiB]);
  });
});
