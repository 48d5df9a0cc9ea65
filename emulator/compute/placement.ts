// Choosing a host for an instance, and saying exactly why none fits when none does (where Nova
// answers "No valid host was found"). Pure: the caller describes each host's free room and who runs
// there, so the rules can be table-tested without an emulator.
import type { HostCapacity } from "./hypervisors.ts";

/** An instance already on a host (running or stopped: both hold their place). */
export interface Resident {
  group: string;
  affinityGroup?: string | undefined;
  antiAffinityGroup?: string | undefined;
}

export interface HostRoom {
  id: string;
  index: number;
  free: HostCapacity;
  residents?: readonly Resident[];
}

export interface PlacementRules {
  policy: "spread" | "pack";
  /** The instance group of the instance being placed; `maxPerHost` counts its members. */
  group?: string | undefined;
  affinityGroup?: string | undefined;
  antiAffinityGroup?: string | undefined;
  maxPerHost?: number | undefined;
  /** Keep the instance here if this host passes every filter (an instance that need not move stays). */
  prefer?: string | undefined;
}

export type Placement = { ok: true; hostId: string } | { ok: false; reason: string };

const RESOURCES: { key: keyof HostCapacity; label: string; unit: string }[] = [
  { key: "vcpu", label: "vCPU", unit: "" },
  { key: "memoryGiB", label: "memory", unit: " GiB" },
  { key: "localDiskGiB", label: "local disk", unit: " GiB" },
];

/** One constraint: which hosts it rules out, and how to say so given those hosts. */
interface Filter {
  rejects(host: HostRoom): boolean;
  explain(count: number, total: number, rejected: readonly HostRoom[]): string;
}

/**
 * Places on the best host that passes every filter. When none does, each host is charged to the
 * first filter that rules it out (resources, then affinity, anti-affinity, maxPerHost), so the
 * counts add up to the cluster's hosts and say what would have to give.
 */
export function placeInstance(hosts: readonly HostRoom[], need: HostCapacity, rules: PlacementRules | "spread" | "pack"): Placement {
  const r: PlacementRules = typeof rules === "string" ? { policy: rules } : rules;
  if (hosts.length === 0) return { ok: false, reason: "the cluster has no hosts" };
  const filters = filtersFor(hosts, need, r);
  let remaining: readonly HostRoom[] = hosts;
  const reasons: string[] = [];
  for (const filter of filters) {
    const rejected = remaining.filter((h) => filter.rejects(h));
    if (rejected.length > 0) reasons.push(filter.explain(rejected.length, hosts.length, rejected));
    if (rejected.length > 0) remaining = remaining.filter((h) => !filter.rejects(h));
  }
  if (remaining.length === 0) return { ok: false, reason: reasons.join("; ") };
  if (r.prefer !== undefined && remaining.some((h) => h.id === r.prefer)) return { ok: true, hostId: r.prefer };
  // spread: most free memory first; pack: least free memory first; ties by host order.
  const sign = r.policy === "spread" ? -1 : 1;
  const best = [...remaining].sort((a, b) => sign * (a.free.memoryGiB - b.free.memoryGiB) || a.index - b.index)[0]!;
  return { ok: true, hostId: best.id };
}

function filtersFor(hosts: readonly HostRoom[], need: HostCapacity, r: PlacementRules): Filter[] {
  const filters: Filter[] = RESOURCES.map(({ key, label, unit }) => ({
    rejects: (h) => h.free[key] + 1e-9 < need[key],
    // "max free" among the hosts ruled out: how close the best of them came.
    explain: (n, total, rejected) => {
      const maxFree = Math.max(...rejected.map((h) => h.free[key]));
      return `${n} of ${total} hosts ${n === 1 ? "lacks" : "lack"} ${label} (need ${round(need[key])}${unit}, max free ${round(Math.max(0, maxFree))}${unit})`;
    },
  }));
  const { affinityGroup, antiAffinityGroup, maxPerHost, group } = r;
  if (affinityGroup !== undefined) {
    // Once a member runs somewhere, the group's home is fixed: only hosts with members qualify.
    const homes = hosts.filter((h) => h.residents?.some((x) => x.affinityGroup === affinityGroup));
    if (homes.length > 0) {
      const homeIds = new Set(homes.map((h) => h.id));
      filters.push({
        rejects: (h) => !homeIds.has(h.id),
        explain: (n, total) => `${n} of ${total} hosts excluded by affinity group ${affinityGroup} (its members run on ${[...homeIds].join(", ")})`,
      });
    }
  }
  if (antiAffinityGroup !== undefined) {
    filters.push({
      rejects: (h) => !!h.residents?.some((x) => x.antiAffinityGroup === antiAffinityGroup),
      explain: (n, total) => `${n} of ${total} hosts excluded by anti-affinity group ${antiAffinityGroup} (each already runs a member)`,
    });
  }
  if (maxPerHost !== undefined && group !== undefined) {
    filters.push({
      rejects: (h) => (h.residents?.filter((x) => x.group === group).length ?? 0) >= maxPerHost,
      explain: (n, total) => `${n} of ${total} hosts excluded by maxPerHost ${maxPerHost} (each already runs ${maxPerHost} of group ${group})`,
    });
  }
  return filters;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
