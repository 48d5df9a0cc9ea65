import { describe, expect, it } from "vitest";
import { StorageError } from "../../emulator/block/block-device.ts";
import { ChunkAllocator } from "../../emulator/block/chunk-allocator.ts";
import { toExtents } from "../../emulator/block/pool-metadata.ts";

describe("ChunkAllocator", () => {
  it.each([
    { name: "fresh LUN hands out holes in order", luns: [{ slots: 4, highWater: 0 }], refs: [], expected: [[0, false], [1, false], [2, false]] },
    { name: "slots below the high-water mark are zero-filled on reuse", luns: [{ slots: 4, highWater: 2 }], refs: [], expected: [[0, true], [1, true], [2, false]] },
    { name: "referenced slots are skipped", luns: [{ slots: 4, highWater: 3 }], refs: [0, 2], expected: [[1, true], [3, false]] },
    { name: "after a crash (high-water at the end) the free run above the last reference is zero-filled in order", luns: [{ slots: 6, highWater: 6 }], refs: [1], expected: [[0, true], [2, true], [3, true], [4, true], [5, true]] },
    { name: "a high-water mark between references: the gap, the run, then holes", luns: [{ slots: 6, highWater: 4 }], refs: [0, 2], expected: [[1, true], [3, true], [4, false], [5, false]] },
    { name: "the LUN with the most free slots wins", luns: [{ slots: 2, highWater: 0 }, { slots: 3, highWater: 0 }], refs: [], expected: [[2, false], [0, false], [3, false]] },
  ])("$name", ({ luns, refs, expected }) => {
    const a = new ChunkAllocator(luns, refs);
    const got = expected.map(() => {
      const x = a.allocate();
      return [x.id, x.needsZeroFill];
    });
    expect(got).toEqual(expected);
  });

  it("counts a crashed LUN's free run as available without listing every slot", () => {
    const slots = 1024 * 1024; // a 1 TiB LUN of 1 MiB chunks
    const a = new ChunkAllocator([{ slots, highWater: slots }], [0, 5]);
    expect(a.availableSlots).toBe(slots - 2);
    const got = Array.from({ length: 6 }, () => a.allocate().id);
    expect(got).toEqual([1, 2, 3, 4, 6, 7]);
    expect(a.availableSlots).toBe(slots - 8);
    const ticket = a.beginCommit();
    a.release(3);
    a.endCommit(ticket, true);
    a.endCommit(a.beginCommit(), true);
    expect(a.allocate()).toEqual({ id: 3, needsZeroFill: true }); // a freed slot before the run
    expect(a.allocate()).toEqual({ id: 8, needsZeroFill: true });
  });

  it("keeps a volume's chunks on the preferred LUN while it has room", () => {
    const a = new ChunkAllocator([{ slots: 2, highWater: 0 }, { slots: 2, highWater: 0 }]);
    expect(a.allocate(1).id).toBe(2);
    expect(a.allocate(1).id).toBe(3);
    expect(a.allocate(1).id).toBe(0); // LUN 1 full: falls back to the emptiest LUN
  });

  it("reports ENOSPC when every slot is used", () => {
    const a = new ChunkAllocator([{ slots: 2, highWater: 0 }]);
    a.allocate();
    a.allocate();
    expect(a.availableSlots).toBe(0);
    expect(() => a.allocate()).toThrow(StorageError);
    try {
      a.allocate();
    } catch (error) {
      expect((error as StorageError).code).toBe("ENOSPC");
    }
  });

  it("parks freed slots until a durable commit, then reuses them", () => {
    const a = new ChunkAllocator([{ slots: 2, highWater: 0 }]);
    const x = a.allocate();
    a.allocate();
    a.release(x.id);
    expect(a.usedSlots).toBe(1);
    expect(a.availableSlots).toBe(0);
    expect(a.pendingFreeSlots).toBe(1);
    const failed = a.beginCommit();
    a.endCommit(failed, false); // a failed commit must not release anything
    expect(a.availableSlots).toBe(0);
    const ticket = a.beginCommit();
    a.endCommit(ticket, true);
    expect(a.availableSlots).toBe(1);
    expect(a.allocate()).toEqual({ id: x.id, needsZeroFill: true });
  });

  it("forbids in-place writes to shared slots and to slots shared on disk until a commit", () => {
    const a = new ChunkAllocator([{ slots: 4, highWater: 0 }]);
    const { id } = a.allocate();
    expect(a.writableInPlace(id)).toBe(true);
    a.addRef(id); // a snapshot shares it
    expect(a.writableInPlace(id)).toBe(false);
    a.release(id); // the other sharer copied away: count is 1 but the disk still says 2
    expect(a.refCount(id)).toBe(1);
    expect(a.writableInPlace(id)).toBe(false);
    const ticket = a.beginCommit();
    expect(a.writableInPlace(id)).toBe(false); // still unsafe while the commit is in flight
    a.endCommit(ticket, true);
    expect(a.writableInPlace(id)).toBe(true);
  });

  it("keeps a freed slot out of reuse while a read is pinned to it", () => {
    const a = new ChunkAllocator([{ slots: 1, highWater: 0 }]);
    const { id } = a.allocate();
    a.pin(id);
    a.release(id);
    a.endCommit(a.beginCommit(), true);
    expect(a.availableSlots).toBe(0); // still pinned: parked for a later commit
    a.unpin(id);
    a.endCommit(a.beginCommit(), true);
    expect(a.availableSlots).toBe(1);
  });

  it("maps global ids to LUN addresses and back", () => {
    const a = new ChunkAllocator([{ slots: 3, highWater: 0 }, { slots: 5, highWater: 0 }]);
    expect(a.address(0)).toEqual({ lun: 0, slot: 0 });
    expect(a.address(3)).toEqual({ lun: 1, slot: 0 });
    expect(a.address(7)).toEqual({ lun: 1, slot: 4 });
    expect(a.idOf({ lun: 1, slot: 2 })).toBe(5);
    expect(() => a.idOf({ lun: 0, slot: 3 })).toThrow(/no slot 3 on LUN 0/);
  });
});

describe("toExtents", () => {
  it.each([
    { name: "empty map", map: [], expected: [] },
    {
      name: "contiguous run",
      map: [[0, { lun: 0, slot: 5 }], [1, { lun: 0, slot: 6 }], [2, { lun: 0, slot: 7 }]],
      expected: [{ chunk: 0, count: 3, lun: 0, slot: 5 }],
    },
    {
      name: "breaks on LUN change, slot gap and chunk gap; input order irrelevant",
      map: [[3, { lun: 0, slot: 9 }], [0, { lun: 0, slot: 1 }], [1, { lun: 1, slot: 2 }], [2, { lun: 1, slot: 4 }]],
      expected: [
        { chunk: 0, count: 1, lun: 0, slot: 1 },
        { chunk: 1, count: 1, lun: 1, slot: 2 },
        { chunk: 2, count: 1, lun: 1, slot: 4 },
        { chunk: 3, count: 1, lun: 0, slot: 9 },
      ],
    },
  ] as { name: string; map: [number, { lun: number; slot: number }][]; expected: unknown[] }[])(
    "$name",
    ({ map, expected }) => {
      expect(toExtents(map)).toEqual(expected);
    },
  );
});
