// ChunkAllocator.regrown: the allocations carried onto a larger geometry (what ThinPool.grow uses).
// Slots after a grown LUN get new ids; counts, slots awaiting a commit and slots that must be
// copied rather than written in place keep their state under the new ids.
import { describe, expect, it } from "vitest";
import { ChunkAllocator } from "../../emulator/block/chunk-allocator.ts";

describe("ChunkAllocator.regrown", () => {
  it("renumbers slots after a grown LUN and keeps reference counts, quarantine and copy-on-write marks", () => {
    const a = new ChunkAllocator([{ slots: 2, highWater: 0 }, { slots: 2, highWater: 0 }]);
    const onFirst = a.allocate(0).id; // LUN 0 slot 0
    const shared = a.allocate(1).id; // LUN 1 slot 0, briefly shared
    const freed = a.allocate(1).id; // LUN 1 slot 1
    a.addRef(shared);
    a.release(shared); // back to 1, but shared on disk until the next commit: not writable in place
    a.release(freed); // awaiting a commit
    const { allocator: b, remap } = a.regrown([4, 2, 3]);
    expect([remap(onFirst), remap(shared), remap(freed)]).toEqual([0, 4, 5]);
    expect(b.address(remap(shared))).toEqual({ lun: 1, slot: 0 });
    expect([b.refCount(remap(onFirst)), b.refCount(remap(shared)), b.refCount(remap(freed))]).toEqual([1, 1, 0]);
    expect(b.totalSlots).toBe(9);
    expect(b.usedSlots).toBe(2);
    expect(b.pendingFreeSlots).toBe(1);
    expect(b.availableSlots).toBe(9 - 3); // the freed slot is not reusable before a commit
    expect(b.writableInPlace(remap(onFirst))).toBe(true);
    expect(b.writableInPlace(remap(shared))).toBe(false); // the mark carried over
    b.endCommit(b.beginCommit(), true);
    expect(b.pendingFreeSlots).toBe(0);
    expect(b.availableSlots).toBe(9 - 2);
    expect(b.writableInPlace(remap(shared))).toBe(true);
  });

  it("refuses to shrink, and (a bug) to regrow with a read pinning a slot", () => {
    const a = new ChunkAllocator([{ slots: 4, highWater: 0 }]);
    expect(() => a.regrown([2])).toThrow(/LUNs only grow/);
    a.pin(a.allocate().id);
    expect(() => a.regrown([8])).toThrow(/bug in virtform/);
  });
});
