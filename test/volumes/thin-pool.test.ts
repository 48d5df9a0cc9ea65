import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StorageError, readOnlyView } from "../../emulator/block/block-device.ts";
import { readPoolMetadata } from "../../emulator/block/pool-metadata.ts";
import { CHUNK_SIZE_BYTES, ThinPool } from "../../emulator/block/thin-pool.ts";
import { tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function newPool(devices: number[], overcommit = 1, extra: { maxVolumes?: number; maxVolumeSizeBytes?: number } = {}) {
  const dir = await tempDir("pool");
  const pool = await ThinPool.create(join(dir.path, "pool"), { devices: devices.map((sizeBytes) => ({ sizeBytes })), overcommit, ...extra });
  cleanups.push(dir.remove, () => pool.close());
  return { pool, dir: join(dir.path, "pool") };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageError) return error.code;
    throw error;
  }
  return "no error";
}

describe("ThinPool", () => {
  it("readInto and writev (the NBD fast paths) match read and write across chunks and holes", async () => {
    const { pool } = await newPool([16 * MiB]);
    await pool.createVolume("v", 8 * MiB);
    const device = pool.device("v");
    const expected = Buffer.alloc(8 * MiB);
    const fill = (offset: number, length: number, seed: number) => {
      const b = Buffer.alloc(length);
      for (let i = 0; i < length; i++) b[i] = (seed + i * 7) & 0xff;
      b.copy(expected, offset);
      return b;
    };
    // Pieces of uneven sizes, crossing chunk boundaries, allocating and then rewriting in place.
    for (const [offset, length, seed] of [[MiB - 10, 3 * MiB, 1], [5 * MiB + 3, 100_000, 2], [MiB, 2 * MiB, 3]] as const) {
      const data = fill(offset, length, seed);
      const cuts = [0, 1, 4095, 65_536, 700_001, length].filter((c) => c <= length);
      const pieces = cuts.slice(1).map((end, i) => data.subarray(cuts[i], end));
      await device.writev?.(offset, pieces);
    }
    expect((await device.read(0, 8 * MiB)).equals(expected)).toBe(true);
    for (const [offset, length] of [[0, 8 * MiB], [MiB - 5, 10], [4 * MiB - 1, MiB + 2], [7 * MiB, MiB], [3, 4096]] as const) {
      const target = Buffer.alloc(length + 20, 0xee);
      await device.readInto?.(offset, length, target, 16);
      expect(target.subarray(16, 16 + length).equals(expected.subarray(offset, offset + length))).toBe(true);
      expect(target.subarray(0, 16).equals(Buffer.alloc(16, 0xee))).toBe(true);
      expect(target.subarray(16 + length).equals(Buffer.alloc(4, 0xee))).toBe(true);
    }
    expect(await codeOf(device.readInto?.(0, 100, Buffer.alloc(50), 0) ?? Promise.resolve())).toBe("EINVAL");
  });

  it("creates sparse LUN files of the declared sizes", async () => {
    const { pool, dir } = await newPool([64 * MiB, 32 * MiB]);
    const lun0 = await stat(join(dir, "lun-0.img"));
    const lun1 = await stat(join(dir, "lun-1.img"));
    expect(lun0.size).toBe(64 * MiB);
    expect(lun1.size).toBe(32 * MiB);
    expect(lun0.blocks * 512).toBeLessThan(MiB); // sparse: nothing allocated on the host disk
    const usage = pool.usage();
    expect(usage.capacityBytes).toBe(96 * MiB);
    expect(usage.luns.map((l) => [l.file, l.chunks, l.usedChunks])).toEqual([
      ["lun-0.img", 64, 0],
      ["lun-1.img", 32, 0],
    ]);
  });

  it("a 1 TiB volume costs nothing until written, then exactly the chunks written", async () => {
    const { pool, dir } = await newPool([64 * MiB], 1e6);
    await pool.createVolume("big", TiB);
    expect(pool.usage()).toMatchObject({ allocatedBytes: TiB, usedBytes: 0 });
    const device = pool.device("big");
    expect((await device.read(TiB - 4096, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    await device.write(TiB - 10, Buffer.from("end-of-tib"));
    await device.write(7 * GiB + 3, Buffer.from("middle"));
    expect(pool.usage().usedBytes).toBe(2 * CHUNK_SIZE_BYTES);
    expect((await device.read(TiB - 10, 10)).toString()).toBe("end-of-tib");
    expect((await device.read(7 * GiB, 9)).toString("latin1")).toBe("\0\0\0middle");
    await pool.flush();
    const lun = await stat(join(dir, "lun-0.img"));
    expect(lun.blocks * 512).toBeLessThanOrEqual(2 * CHUNK_SIZE_BYTES + 64 * 1024);
  });

  it("grows in place keeping data, and refuses to shrink with a clear error", async () => {
    const { pool } = await newPool([64 * MiB], 4);
    await pool.createVolume("v", 3 * MiB + 512);
    const device = pool.device("v");
    await device.write(3 * MiB, Buffer.alloc(512, 0x5a));
    const grown = await pool.resizeVolume("v", 10 * MiB);
    expect(grown.sizeBytes).toBe(10 * MiB);
    expect(device.sizeBytes).toBe(10 * MiB); // open devices see the new size
    expect((await device.read(3 * MiB, 512)).equals(Buffer.alloc(512, 0x5a))).toBe(true);
    expect((await device.read(3 * MiB + 512, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    await expect(pool.resizeVolume("v", 5 * MiB)).rejects.toThrow(
      /volume v is 10485760 bytes; shrinking it to 5242880 would destroy data and is refused/,
    );
    expect(await codeOf(pool.resizeVolume("v", 5 * MiB))).toBe("SHRINK_REFUSED");
    expect(pool.getVolume("v")?.sizeBytes).toBe(10 * MiB);
  });

  it("enforces the overcommit limit on create, grow, snapshot; ENOSPC on physical exhaustion", async () => {
    const { pool } = await newPool([4 * MiB], 2); // 4 MiB physical, 8 MiB promisable
    await pool.createVolume("a", 6 * MiB);
    await expect(pool.createVolume("b", 3 * MiB)).rejects.toThrow(/would promise 9437184 bytes, more than its 4194304-byte capacity x overcommit 2/);
    expect(await codeOf(pool.resizeVolume("a", 9 * MiB))).toBe("OVERCOMMIT");
    expect(await codeOf(pool.snapshotVolume("a", "s"))).toBe("OVERCOMMIT");
    await pool.createVolume("b", 2 * MiB);
    const a = pool.device("a");
    await a.write(0, Buffer.alloc(4 * MiB, 1));
    const before = pool.usage().usedBytes;
    expect(await codeOf(a.write(4 * MiB, Buffer.alloc(10, 2)))).toBe("ENOSPC");
    expect(pool.usage().usedBytes).toBe(before);
  });

  it("enforces per-volume size and volume-count limits", async () => {
    const { pool } = await newPool([8 * MiB], 10, { maxVolumes: 2, maxVolumeSizeBytes: 4 * MiB });
    expect(await codeOf(pool.createVolume("huge", 5 * MiB))).toBe("QUOTA");
    await pool.createVolume("one", MiB);
    await pool.createVolume("two", MiB);
    await expect(pool.createVolume("three", MiB)).rejects.toThrow(/holds 2 volumes, its limit is 2/);
  });

  it("rejects bad sizes, ids and duplicates", async () => {
    const { pool } = await newPool([8 * MiB], 10);
    expect(await codeOf(pool.createVolume("odd", 1000))).toBe("EINVAL");
    expect(await codeOf(pool.createVolume("bad/name", MiB))).toBe("EINVAL");
    await pool.createVolume("v", MiB);
    expect(await codeOf(pool.createVolume("v", MiB))).toBe("ALREADY_EXISTS");
    expect(await codeOf(pool.deleteVolume("nope"))).toBe("NOT_FOUND");
    expect(await codeOf(pool.device("v").read(MiB - 1, 2))).toBe("EINVAL");
  });

  it("snapshots are instant copy-on-write and read-only; clones are writable", async () => {
    const { pool } = await newPool([64 * MiB], 100);
    await pool.createVolume("src", 40 * MiB);
    const src = pool.device("src");
    await src.write(0, Buffer.alloc(32 * MiB, 0xaa));
    const used = pool.usage().usedBytes;
    await pool.snapshotVolume("src", "snap");
    expect(pool.usage().usedBytes).toBe(used); // shares every chunk
    await src.write(4096, Buffer.alloc(100, 0xbb));
    expect(pool.usage().usedBytes).toBe(used + CHUNK_SIZE_BYTES); // one chunk copied
    const snap = pool.device("snap");
    expect(snap.readOnly).toBe(true);
    expect((await snap.read(4096, 100)).equals(Buffer.alloc(100, 0xaa))).toBe(true);
    expect((await src.read(4096, 100)).equals(Buffer.alloc(100, 0xbb))).toBe(true);
    expect((await src.read(0, 4096)).equals(Buffer.alloc(4096, 0xaa))).toBe(true); // copied, not lost
    expect(await codeOf(snap.write(0, Buffer.alloc(1)))).toBe("EPERM");

    await pool.cloneVolume("snap", "clone");
    const clone = pool.device("clone");
    await clone.write(0, Buffer.from("clone"));
    expect((await clone.read(0, 5)).toString()).toBe("clone");
    expect((await snap.read(0, 5)).equals(Buffer.alloc(5, 0xaa))).toBe(true);
    await pool.deleteVolume("src"); // the snapshot keeps its chunks
    expect((await snap.read(10 * MiB, 8)).equals(Buffer.alloc(8, 0xaa))).toBe(true);
    expect(pool.usage().volumes.find((v) => v.id === "snap")).toMatchObject({ kind: "snapshot", origin: "src", mappedChunks: 32 });
  });

  it("TRIM frees whole chunks only; freed chunks are zero-filled before reuse", async () => {
    const { pool } = await newPool([4 * MiB], 2);
    await pool.createVolume("a", 4 * MiB);
    await pool.createVolume("b", 4 * MiB);
    const a = pool.device("a");
    await a.write(0, Buffer.alloc(4 * MiB, 0x77));
    expect(pool.usage().usedBytes).toBe(4 * MiB);
    await a.trim(MiB / 2, 2 * MiB); // covers chunk 1 only
    expect(pool.usage()).toMatchObject({ usedBytes: 3 * MiB, pendingFreeBytes: MiB });
    expect((await a.read(MiB / 2, 16)).equals(Buffer.alloc(16, 0x77))).toBe(true);
    expect((await a.read(MiB, 16)).equals(Buffer.alloc(16))).toBe(true);
    // The pool is full but for the trimmed chunk, which waits for a commit: the write commits,
    // reuses that chunk, and must not expose the 0x77 bytes it held.
    const b = pool.device("b");
    await b.write(100, Buffer.from("x"));
    expect(pool.usage()).toMatchObject({ usedBytes: 4 * MiB, pendingFreeBytes: 0 });
    const chunk = await b.read(0, MiB);
    expect(chunk.indexOf(0x77)).toBe(-1);
    expect(chunk[100]).toBe("x".charCodeAt(0));
  });

  it("write-zeroes reads back as zeros and releases whole chunks", async () => {
    const { pool } = await newPool([8 * MiB]);
    await pool.createVolume("z", 4 * MiB);
    const z = pool.device("z");
    await z.write(0, Buffer.alloc(4 * MiB, 9));
    await z.writeZeroes(100, 2 * MiB);
    expect((await z.read(0, 100)).equals(Buffer.alloc(100, 9))).toBe(true);
    expect((await z.read(100, 2 * MiB)).equals(Buffer.alloc(2 * MiB))).toBe(true);
    expect((await z.read(2 * MiB + 100, 10)).equals(Buffer.alloc(10, 9))).toBe(true);
    expect(pool.usage().usedBytes).toBe(3 * MiB); // chunk 1 released
  });

  it("discardAll wipes a local disk at once: zeros, no chunks", async () => {
    const { pool } = await newPool([16 * MiB]);
    await pool.createVolume("local", 8 * MiB);
    const d = pool.device("local");
    await d.write(0, Buffer.alloc(8 * MiB, 3));
    await pool.discardAll("local");
    expect(pool.usage().usedBytes).toBe(0);
    expect((await d.read(0, 8 * MiB)).equals(Buffer.alloc(8 * MiB))).toBe(true);
  });

  it("persists volumes, maps and data across close and reopen; one process at a time", async () => {
    const { pool, dir } = await newPool([16 * MiB, 16 * MiB], 2);
    await pool.createVolume("keep", 20 * MiB);
    const d = pool.device("keep");
    await d.write(3 * MiB, Buffer.from("persisted"));
    await pool.snapshotVolume("keep", "keep-snap");
    await expect(ThinPool.open(dir)).rejects.toThrow(/is open in process \d+ \(this one\)/);
    await pool.close();
    const metadata = await readPoolMetadata(dir);
    expect(metadata.cleanShutdown).toBe(true);
    expect(metadata.volumes.map((v) => [v.id, v.extents.length])).toEqual([["keep", 1], ["keep-snap", 1]]);
    const reopened = await ThinPool.open(dir);
    cleanups.push(() => reopened.close());
    expect((await reopened.device("keep").read(3 * MiB, 9)).toString()).toBe("persisted");
    expect(reopened.usage().usedBytes).toBe(MiB);
    expect(reopened.getVolume("keep-snap")).toMatchObject({ kind: "snapshot", readOnly: true });
  });

  it("readOnlyView refuses writes, trims and zeroing but reads through", async () => {
    const { pool } = await newPool([8 * MiB]);
    await pool.createVolume("v", MiB);
    await pool.device("v").write(0, Buffer.from("abc"));
    const view = readOnlyView(pool.device("v"));
    expect(view.readOnly).toBe(true);
    expect((await view.read(0, 3)).toString()).toBe("abc");
    for (const attempt of [view.write(0, Buffer.from("x")), view.trim(0, 512), view.writeZeroes(0, 512)]) {
      expect(await codeOf(attempt)).toBe("EPERM");
    }
  });
});
