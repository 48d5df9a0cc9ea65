// An index of one cluster's hosts for placement: each host's free room kept incrementally as
// instances are added and removed, hosts ordered by free memory, and per-group host counts for
// anti-affinity, affinity and maxPerHost. `place` answers what `placeInstance` (placement.ts) would
// answer over every host's room, without looking at every host: it walks hosts in policy order
// (spread: most free memory first; pack: the least free memory that fits) and takes the first that
// passes every filter. When none does it answers undefined, and the caller asks `placeInstance` over
// `rooms()` for the explanation (rare, and allowed to be slow). Pure: no emulator, no data document.
import type { HostCapacity } from "./hypervisors.ts";
import type { HostRoom, PlacementRules, Resident } from "./placement.ts";

export interface IndexedHost {
  id: string;
  index: number;
  /** What instances may use on the host (after the hypervisor's reservation and overcommit). */
  usable: HostCapacity;
}

/** An instance as far as placement cares: where it is, what it takes, and its groups. */
export interface Placed extends HostCapacity, Resident {
  id: string;
  hostId: string;
}

const EPSILON = 1e-9;

/**
 * A host's free room: usable less the sum of its residents. The sum is taken in one canonical order
 * (by instance id) unless every value is a whole number, where any order gives the same sum; so the
 * figure does not depend on the order in which instances came and went, and the plain scan
 * (`hostRooms` in instances.ts) computes exactly the same number.
 */
export function freeRoom(usable: HostCapacity, residents: Iterable<Placed>): HostCapacity {
  let list = [...residents];
  if (!list.every((r) => Number.isInteger(r.vcpu) && Number.isInteger(r.memoryGiB) && Number.isInteger(r.localDiskGiB))) {
    list = list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  const used = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
  for (const r of list) {
    used.vcpu += r.vcpu;
    used.memoryGiB += r.memoryGiB;
    used.localDiskGiB += r.localDiskGiB;
  }
  return { vcpu: usable.vcpu - used.vcpu, memoryGiB: usable.memoryGiB - used.memoryGiB, localDiskGiB: usable.localDiskGiB - used.localDiskGiB };
}

interface HostState {
  id: string;
  index: number;
  usable: HostCapacity;
  free: HostCapacity;
  residents: Map<string, Placed>;
  /** The residents' sums, kept incrementally while every value is a whole number (sums then exact in any order). */
  used: HostCapacity;
  /** Residents with a fractional value: while there are any, `refresh` sums in freeRoom's canonical order. */
  fractional: number;
  /** free.memoryGiB as last sorted in `order` (the sort key is read only through this). */
  key: number;
}

const compare = (a: HostState, keyA: number, b: HostState): number => keyA - b.key || a.index - b.index;

/**
 * Hosts sorted by (free memory, index), in blocks of at most BLOCK (a B-tree's leaves without the
 * tree): insert and remove cost a binary search and a splice of one block, O(sqrt n) at worst.
 */
class SortedHosts {
  private static readonly BLOCK = 128;
  private blocks: HostState[][] = [];

  constructor(hosts: HostState[]) {
    const sorted = [...hosts].sort((a, b) => compare(a, a.key, b));
    for (let i = 0; i < sorted.length; i += SortedHosts.BLOCK) this.blocks.push(sorted.slice(i, i + SortedHosts.BLOCK));
  }

  /** The first block whose last element is not below (key, index). */
  private blockOf(host: HostState, key: number): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = this.blocks[mid]!;
      if (compare(host, key, block[block.length - 1]!) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(host: HostState): void {
    host.key = host.free.memoryGiB;
    if (this.blocks.length === 0) {
      this.blocks.push([host]);
      return;
    }
    const b = this.blockOf(host, host.key);
    const block = this.blocks[b]!;
    block.splice(lowerBound(block, host), 0, host);
    if (block.length > 2 * SortedHosts.BLOCK) this.blocks.splice(b, 1, block.slice(0, SortedHosts.BLOCK), block.slice(SortedHosts.BLOCK));
  }

  remove(host: HostState): void {
    const b = this.blockOf(host, host.key);
    const block = this.blocks[b];
    let at = -1;
    if (block) {
      const lo = lowerBound(block, host);
      if (block[lo] === host) at = lo;
    }
    if (!block || at < 0) throw new Error(`host index out of order: ${host.id} not found`);
    block.splice(at, 1);
    if (block.length === 0) this.blocks.splice(b, 1);
  }

  /** The first position (block, offset) where the monotone `pred` holds; [blocks, 0] when nowhere. */
  private firstWhere(pred: (h: HostState) => boolean): [number, number] {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = this.blocks[mid]!;
      if (pred(block[block.length - 1]!)) hi = mid;
      else lo = mid + 1;
    }
    if (lo === this.blocks.length) return [lo, 0];
    const block = this.blocks[lo]!;
    let a = 0;
    let z = block.length - 1;
    while (a < z) {
      const mid = (a + z) >> 1;
      if (pred(block[mid]!)) z = mid;
      else a = mid + 1;
    }
    return [lo, a];
  }

  /** Hosts in ascending order starting with the first for which `from` holds (`from` must be monotone). */
  *ascending(from: (h: HostState) => boolean): Generator<HostState> {
    let [b, i] = this.firstWhere(from);
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b]!;
      for (; i < block.length; i++) yield block[i]!;
    }
  }

  /**
   * Hosts by descending key; hosts of equal key by ascending index (the order spread prefers):
   * from the last host, binary search for the start of its run of equal keys, yield the run
   * forwards, continue before it.
   */
  *descendingRuns(): Generator<HostState> {
    let b = this.blocks.length - 1;
    let i = (this.blocks[b]?.length ?? 0) - 1;
    while (b >= 0) {
      const key = this.blocks[b]![i]!.key;
      const [sb, si] = this.firstWhere((h) => h.key >= key);
      for (let yb = sb, yi = si; ; ) {
        yield this.blocks[yb]![yi]!;
        if (yb === b && yi === i) break;
        yi++;
        if (yi >= this.blocks[yb]!.length) {
          yb++;
          yi = 0;
        }
      }
      if (si > 0) {
        b = sb;
        i = si - 1;
      } else {
        b = sb - 1;
        i = (this.blocks[b]?.length ?? 0) - 1;
      }
    }
  }
}

/** Per group name: on which hosts its members run, and how many on each. */
class GroupCounts {
  private readonly byGroup = new Map<string, Map<HostState, number>>();
  add(group: string | undefined, host: HostState, delta: number): void {
    if (group === undefined) return;
    let hosts = this.byGroup.get(group);
    if (!hosts) this.byGroup.set(group, (hosts = new Map()));
    const n = (hosts.get(host) ?? 0) + delta;
    if (n > 0) hosts.set(host, n);
    else hosts.delete(host);
    if (hosts.size === 0) this.byGroup.delete(group);
  }
  count(group: string, host: HostState): number {
    return this.byGroup.get(group)?.get(host) ?? 0;
  }
  hosts(group: string): Iterable<HostState> {
    return this.byGroup.get(group)?.keys() ?? [];
  }
  any(group: string): boolean {
    return this.byGroup.has(group);
  }
}

export class HostIndex {
  private readonly hosts: HostState[];
  private readonly byId = new Map<string, HostState>();
  private readonly order: SortedHosts;
  private readonly placed = new Map<string, Placed>();
  private readonly groups = new GroupCounts();
  private readonly affinity = new GroupCounts();
  private readonly antiAffinity = new GroupCounts();

  constructor(hosts: readonly IndexedHost[]) {
    this.hosts = hosts.map((h) => ({ id: h.id, index: h.index, usable: { ...h.usable }, free: { ...h.usable }, residents: new Map(), used: { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 }, fractional: 0, key: h.usable.memoryGiB }));
    for (const h of this.hosts) this.byId.set(h.id, h);
    this.order = new SortedHosts(this.hosts);
  }

  has(id: string): boolean {
    return this.placed.has(id);
  }

  /**
   * Accounts an instance on its host (one on a host this cluster does not have holds no room, as in
   * the scan). The index keeps `instance` as given: the caller must not change it afterwards.
   */
  add(instance: Placed): void {
    if (this.placed.has(instance.id)) this.remove(instance.id);
    const p = instance;
    this.placed.set(p.id, p);
    const host = this.byId.get(p.hostId);
    if (!host) return;
    host.residents.set(p.id, p);
    this.counts(p, host, 1);
    this.refresh(host, p, 1);
  }

  remove(id: string): void {
    const p = this.placed.get(id);
    if (!p) return;
    this.placed.delete(id);
    const host = this.byId.get(p.hostId);
    if (!host) return;
    host.residents.delete(id);
    this.counts(p, host, -1);
    this.refresh(host, p, -1);
  }

  /** Every host's room and residents, in host order: what `placeInstance` takes. */
  rooms(): HostRoom[] {
    return this.hosts.map((h) => ({
      id: h.id,
      index: h.index,
      free: { ...h.free },
      residents: [...h.residents.values()].map((r) => ({ group: r.group, affinityGroup: r.affinityGroup, antiAffinityGroup: r.antiAffinityGroup })),
    }));
  }

  /** The host `placeInstance(this.rooms(), need, rules)` would choose, or undefined when it would fail. */
  place(need: HostCapacity, rules: PlacementRules): string | undefined {
    const { affinityGroup } = rules;
    const homes = affinityGroup !== undefined && this.affinity.any(affinityGroup) ? new Set(this.affinity.hosts(affinityGroup)) : undefined;
    const passes = (h: HostState): boolean => {
      if (h.free.vcpu + EPSILON < need.vcpu || h.free.memoryGiB + EPSILON < need.memoryGiB || h.free.localDiskGiB + EPSILON < need.localDiskGiB) return false;
      if (homes && !homes.has(h)) return false;
      if (rules.antiAffinityGroup !== undefined && this.antiAffinity.count(rules.antiAffinityGroup, h) > 0) return false;
      if (rules.maxPerHost !== undefined && rules.group !== undefined && this.groups.count(rules.group, h) >= rules.maxPerHost) return false;
      return true;
    };
    if (rules.prefer !== undefined) {
      const preferred = this.byId.get(rules.prefer);
      if (preferred && passes(preferred)) return preferred.id;
    }
    if (homes) {
      // The group's home hosts are few: compare them directly, as placeInstance's sort would.
      const sign = rules.policy === "spread" ? -1 : 1;
      let best: HostState | undefined;
      for (const h of homes) {
        if (!passes(h)) continue;
        if (!best || (sign * (h.free.memoryGiB - best.free.memoryGiB) || h.index - best.index) < 0) best = h;
      }
      return best?.id;
    }
    if (rules.policy === "pack") {
      for (const h of this.order.ascending((x) => x.key + EPSILON >= need.memoryGiB)) if (passes(h)) return h.id;
      return undefined;
    }
    for (const h of this.order.descendingRuns()) {
      if (h.key + EPSILON < need.memoryGiB) return undefined;
      if (passes(h)) return h.id;
    }
    return undefined;
  }

  private counts(p: Placed, host: HostState, delta: number): void {
    this.groups.add(p.group, host, delta);
    this.affinity.add(p.affinityGroup, host, delta);
    this.antiAffinity.add(p.antiAffinityGroup, host, delta);
  }

  /** `p` joined (+1) or left (-1) the host: its free room again, and its place in the order. */
  private refresh(host: HostState, p: Placed, sign: 1 | -1): void {
    this.order.remove(host);
    const whole = Number.isInteger(p.vcpu) && Number.isInteger(p.memoryGiB) && Number.isInteger(p.localDiskGiB);
    if (!whole) host.fractional += sign;
    if (host.fractional === 0) {
      // Whole numbers only (and well below 2^53): the incremental sums are exact, as freeRoom's are.
      if (whole) {
        host.used.vcpu += sign * p.vcpu;
        host.used.memoryGiB += sign * p.memoryGiB;
        host.used.localDiskGiB += sign * p.localDiskGiB;
      } else {
        host.used = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
        for (const r of host.residents.values()) {
          host.used.vcpu += r.vcpu;
          host.used.memoryGiB += r.memoryGiB;
          host.used.localDiskGiB += r.localDiskGiB;
        }
      }
      const { usable, used } = host;
      host.free = { vcpu: usable.vcpu - used.vcpu, memoryGiB: usable.memoryGiB - used.memoryGiB, localDiskGiB: usable.localDiskGiB - used.localDiskGiB };
    } else {
      host.free = freeRoom(host.usable, host.residents.values());
    }
    this.order.insert(host);
  }
}

/** The first position in a sorted block whose host does not sort before `host`. */
function lowerBound(block: readonly HostState[], host: HostState): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(host, host.key, block[mid]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
