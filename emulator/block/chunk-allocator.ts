// Physical chunk bookkeeping for a thin pool: which slots on which LUN are in use, by how many
// volumes (reference counts for copy-on-write sharing), and which free slots may be reused.
// Pure in-memory logic; the pool persists the volume maps, and this is rebuilt from them on open.

import { StorageError } from "./block-device.ts";

export interface LunGeometry {
  /** Number of chunk slots on the LUN (its size divided by the chunk size, rounded down). */
  slots: number;
  /**
   * Slots at or above this index have never held data since the LUN file was created, so they are
   * still holes and read as zeros; slots below it may hold stale bytes and must be zero-filled
   * before reuse.
   */
  highWater: number;
}

/** A physical location: LUN index and slot index on that LUN. */
export interface SlotAddress {
  lun: number;
  slot: number;
}

export interface Allocation {
  /** Global slot id (LUN base + slot). */
  id: number;
  /** True when the slot may hold stale bytes from an earlier owner and must be zero-filled. */
  needsZeroFill: boolean;
}

/**
 * Freed slots are not reusable at once: the metadata on disk may still map them to their old
 * owner until the next commit, and reusing one before that commit could let a crash resurrect the
 * old owner with someone else's bytes. `beginCommit` captures what the commit will make durable;
 * `endCommit` then releases exactly those slots.
 */
export interface CommitTicket {
  freed: number[];
  unsafe: Set<number>;
}

export class ChunkAllocator {
  readonly lunBase: readonly number[];
  readonly lunSlots: readonly number[];
  readonly totalSlots: number;
  private readonly refs: Uint32Array;
  private readonly highWater: number[];
  private readonly freeStacks: number[][];
  // Free slots between the highest referenced slot and the high-water mark, per LUN: a run handed
  // out in order from this cursor. After a crash the whole LUN counts as possibly written, and a
  // stack of a million free slots per TiB would be most of the pool's memory.
  private readonly staleRun: number[];
  private quarantine: number[] = [];
  // Slots whose reference count dropped since the last commit: on disk they may still be shared,
  // so an in-place write could corrupt the other sharer after a crash. They are copied instead.
  private unsafeInPlace = new Set<number>();
  private readonly inflightUnsafe: Set<number>[] = [];
  private used = 0;
  // Slots an in-flight asynchronous read is copying from: never handed to a new owner meanwhile.
  private readonly pins = new Map<number, number>();

  constructor(luns: readonly LunGeometry[], references: Iterable<number> = []) {
    const base: number[] = [];
    let total = 0;
    for (const lun of luns) {
      if (!Number.isSafeInteger(lun.slots) || lun.slots < 1) {
        throw new StorageError("EINVAL", `a LUN needs at least one chunk slot, got ${lun.slots}`);
      }
      base.push(total);
      total += lun.slots;
    }
    this.lunBase = base;
    this.lunSlots = luns.map((l) => l.slots);
    this.totalSlots = total;
    this.refs = new Uint32Array(total);
    this.highWater = luns.map((l) => Math.min(Math.max(0, l.highWater), l.slots));
    for (const id of references) this.addRef(id);
    // Free slots below the highest referenced one, stacked so that pop() yields the lowest slot
    // first; the free run above it up to the high-water mark comes next, in order.
    this.staleRun = luns.map((_, lun) => {
      const first = this.lunBase[lun] ?? 0;
      let top = (this.highWater[lun] ?? 0) - 1;
      while (top >= 0 && this.refs[first + top] === 0) top--;
      return top + 1;
    });
    this.freeStacks = luns.map((_, lun) => {
      const stack: number[] = [];
      const first = this.lunBase[lun] ?? 0;
      for (let slot = (this.staleRun[lun] ?? 0) - 1; slot >= 0; slot--) {
        if (this.refs[first + slot] === 0) stack.push(first + slot);
      }
      return stack;
    });
  }

  get usedSlots(): number {
    return this.used;
  }

  /** Slots a new allocation could take right now (excludes freed slots awaiting a commit). */
  get availableSlots(): number {
    let n = 0;
    for (let lun = 0; lun < this.lunSlots.length; lun++) n += this.availableOn(lun);
    return n;
  }

  /** Freed slots that become reusable after the next commit. */
  get pendingFreeSlots(): number {
    return this.quarantine.length;
  }

  address(id: number): SlotAddress {
    let lun = this.lunBase.length - 1;
    while (lun > 0 && (this.lunBase[lun] ?? 0) > id) lun--;
    return { lun, slot: id - (this.lunBase[lun] ?? 0) };
  }

  idOf(address: SlotAddress): number {
    const base = this.lunBase[address.lun];
    const slots = this.lunSlots[address.lun];
    if (base === undefined || slots === undefined || address.slot < 0 || address.slot >= slots) {
      throw new StorageError("EINVAL", `no slot ${address.slot} on LUN ${address.lun}`);
    }
    return base + address.slot;
  }

  refCount(id: number): number {
    return this.refs[id] ?? 0;
  }

  usedOn(lun: number): number {
    const base = this.lunBase[lun] ?? 0;
    let n = 0;
    for (let i = 0; i < (this.lunSlots[lun] ?? 0); i++) if ((this.refs[base + i] ?? 0) > 0) n++;
    return n;
  }

  highWaterOf(lun: number): number {
    return this.highWater[lun] ?? 0;
  }

  /**
   * Takes one free slot with a reference count of 1. Prefers `preferLun` (keeps a volume's
   * sequential chunks in long extents), otherwise the LUN with the most free slots.
   */
  allocate(preferLun?: number): Allocation {
    let lun = preferLun !== undefined && this.availableOn(preferLun) > 0 ? preferLun : -1;
    if (lun < 0) {
      let best = 0;
      for (let i = 0; i < this.lunSlots.length; i++) {
        const free = this.availableOn(i);
        if (free > best) [best, lun] = [free, i];
      }
    }
    if (lun < 0) {
      throw new StorageError(
        "ENOSPC",
        `thin pool is out of physical space: all ${this.totalSlots} chunks are in use` +
          (this.quarantine.length > 0 ? ` (${this.quarantine.length} freed, awaiting a flush)` : ""),
      );
    }
    const stack = this.freeStacks[lun];
    let id: number;
    let needsZeroFill: boolean;
    if (stack !== undefined && stack.length > 0) {
      id = stack.pop() as number;
      needsZeroFill = true;
    } else if ((this.staleRun[lun] ?? 0) < (this.highWater[lun] ?? 0)) {
      const slot = this.staleRun[lun]!;
      this.staleRun[lun] = slot + 1;
      id = (this.lunBase[lun] ?? 0) + slot;
      needsZeroFill = true;
    } else {
      const slot = this.highWater[lun] ?? 0;
      this.highWater[lun] = slot + 1;
      this.staleRun[lun] = slot + 1;
      id = (this.lunBase[lun] ?? 0) + slot;
      needsZeroFill = false;
    }
    this.addRef(id);
    return { id, needsZeroFill };
  }

  addRef(id: number): void {
    if (id < 0 || id >= this.totalSlots) throw new StorageError("EINVAL", `no chunk slot ${id}`);
    const lun = this.address(id).lun;
    const slot = id - (this.lunBase[lun] ?? 0);
    // A referenced slot is no longer a hole, whatever the recorded high-water mark says.
    if (slot >= (this.highWater[lun] ?? 0)) this.highWater[lun] = slot + 1;
    if (this.refs[id] === 0) this.used++;
    this.refs[id] = (this.refs[id] ?? 0) + 1;
  }

  /** Drops one reference; a slot nobody references waits in quarantine until the next commit. */
  release(id: number): void {
    const count = this.refs[id] ?? 0;
    if (count === 0) throw new StorageError("EINVAL", `chunk slot ${id} is not in use`);
    this.refs[id] = count - 1;
    if (count === 1) {
      this.used--;
      this.quarantine.push(id);
    } else {
      this.unsafeInPlace.add(id);
    }
  }

  pin(id: number): void {
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
  }

  unpin(id: number): void {
    const n = this.pins.get(id) ?? 0;
    if (n <= 1) this.pins.delete(id);
    else this.pins.set(id, n - 1);
  }

  /** Whether a write may modify the slot in place rather than copying it first. */
  writableInPlace(id: number): boolean {
    if (this.refs[id] !== 1 || this.unsafeInPlace.has(id)) return false;
    for (const set of this.inflightUnsafe) if (set.has(id)) return false;
    return true;
  }

  beginCommit(): CommitTicket {
    const ticket = { freed: this.quarantine, unsafe: this.unsafeInPlace };
    this.quarantine = [];
    this.unsafeInPlace = new Set();
    this.inflightUnsafe.push(ticket.unsafe);
    return ticket;
  }

  /** After a durable commit the freed slots are reusable; after a failed one they stay parked. */
  endCommit(ticket: CommitTicket, durable: boolean): void {
    const at = this.inflightUnsafe.indexOf(ticket.unsafe);
    if (at >= 0) this.inflightUnsafe.splice(at, 1);
    if (!durable) {
      this.quarantine.push(...ticket.freed);
      for (const id of ticket.unsafe) this.unsafeInPlace.add(id);
      return;
    }
    for (const id of ticket.freed) {
      // Re-referenced slots cannot occur (quarantined slots are never handed out), but be safe.
      if (this.refs[id] !== 0) continue;
      if (this.pins.has(id)) {
        this.quarantine.push(id); // a read still copies from it: free it at a later commit
        continue;
      }
      const { lun } = this.address(id);
      this.freeStacks[lun]?.push(id);
    }
  }

  /**
   * The same allocations on a larger geometry (LUNs grown or appended): reference counts, slots
   * awaiting a commit and slots not writable in place carry over. Global ids change when a LUN
   * before the last grows, so `remap` turns an old id into the new one. Only between commits and
   * with no read pinning a slot (the pool waits for both).
   */
  regrown(slots: readonly number[]): { allocator: ChunkAllocator; remap: (id: number) => number } {
    if (this.inflightUnsafe.length > 0 || this.pins.size > 0) {
      throw new Error("bug in virtform: a thin pool's geometry changed with a commit or a read in flight");
    }
    if (slots.length < this.lunSlots.length || slots.some((n, lun) => n < (this.lunSlots[lun] ?? 0))) {
      throw new StorageError("SHRINK_REFUSED", `LUNs only grow: ${this.lunSlots.join(", ")} slots cannot become ${slots.join(", ")}`);
    }
    const bases: number[] = [];
    let total = 0;
    for (const n of slots) {
      bases.push(total);
      total += n;
    }
    const remap = (id: number) => {
      const { lun, slot } = this.address(id);
      return (bases[lun] ?? 0) + slot;
    };
    const references: number[] = [];
    for (let id = 0; id < this.totalSlots; id++) {
      for (let r = this.refs[id] ?? 0; r > 0; r--) references.push(remap(id));
    }
    // Quarantined slots enter referenced and are released at once: they wait for a commit there too.
    for (const id of this.quarantine) references.push(remap(id));
    const next = new ChunkAllocator(slots.map((n, lun) => ({ slots: n, highWater: this.highWater[lun] ?? 0 })), references);
    for (const id of this.quarantine) next.release(remap(id));
    for (const id of this.unsafeInPlace) next.unsafeInPlace.add(remap(id));
    return { allocator: next, remap };
  }

  private availableOn(lun: number): number {
    const stack = this.freeStacks[lun]?.length ?? 0;
    return stack + (this.lunSlots[lun] ?? 0) - (this.staleRun[lun] ?? 0);
  }
}
