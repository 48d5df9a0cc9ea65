// Choosing a host for an instance, and saying exactly why none fits when none does (where Nova
// answers "No valid host was found").
import type { HostCapacity } from "./hypervisors.ts";

export interface HostRoom {
  id: string;
  index: number;
  free: HostCapacity;
}

export type Placement = { ok: true; hostId: string } | { ok: false; reason: string };

const RESOURCES: { key: keyof HostCapacity; label: string; unit: string }[] = [
  { key: "vcpu", label: "vCPU", unit: "" },
  { key: "memoryGiB", label: "memory", unit: " GiB" },
  { key: "localDiskGiB", label: "local disk", unit: " GiB" },
];

export function placeInstance(hosts: readonly HostRoom[], need: HostCapacity, policy: "spread" | "pack"): Placement {
  const fits = hosts.filter((h) => RESOURCES.every(({ key }) => h.free[key] + 1e-9 >= need[key]));
  if (fits.length > 0) {
    // spread: most free memory first; pack: least free memory first; ties by host order.
    const sign = policy === "spread" ? -1 : 1;
    const best = [...fits].sort((a, b) => sign * (a.free.memoryGiB - b.free.memoryGiB) || a.index - b.index)[0]!;
    return { ok: true, hostId: best.id };
  }
  const reasons = RESOURCES.flatMap(({ key, label, unit }) => {
    const lacking = hosts.filter((h) => h.free[key] + 1e-9 < need[key]);
    if (lacking.length === 0) return [];
    const maxFree = Math.max(...hosts.map((h) => h.free[key]));
    return [`${lacking.length} of ${hosts.length} hosts lack ${label} (need ${round(need[key])}${unit}, max free ${round(maxFree)}${unit})`];
  });
  return {
    ok: false,
    reason: hosts.length === 0 ? "the cluster has no hosts" : reasons.join("; "),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
