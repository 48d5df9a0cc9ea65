// What the emulator has and what is used of it: per cluster (after the hypervisor's reservation and
// overcommit) and per storage pool (after thin provisioning). The plan shows it before and after.
import { usableCapacity } from "./compute/hypervisors.ts";
import type { EmulatorData } from "./data.ts";
import { readable } from "./figures.ts";
import { capacityGiB } from "./storage/pools.ts";

/** One measure of one cluster or pool: "vCPU 40 of 256". The engine's own row is mapped from it in provider/. */
export interface CapacityReportRow {
  /** The cluster's or pool's id. */
  id: string;
  /** Its name. */
  owner: string;
  measure: string;
  unit: string;
  used: number;
  total: number;
}

export function capacityReport(data: EmulatorData): CapacityReportRow[] {
  const rows: CapacityReportRow[] = [];
  // Grouped once: a search of every instance per cluster (every volume per pool) is quadratic.
  const membersOf = groupBy(Object.values(data.instances), (i) => i.spec.cluster);
  const volumesOf = groupBy(Object.values(data.volumes), (v) => v.spec.pool);
  for (const cluster of Object.values(data.clusters)) {
    const members = membersOf.get(cluster.id) ?? [];
    const total = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
    for (const host of cluster.hosts) {
      const usable = usableCapacity(cluster, host);
      total.vcpu += usable.vcpu;
      total.memoryGiB += usable.memoryGiB;
      total.localDiskGiB += usable.localDiskGiB;
    }
    const used = (key: "vcpu" | "memoryGiB" | "localDiskGiB") => members.reduce((sum, i) => sum + i.spec[key], 0);
    const row = (measure: string, unit: string, key: "vcpu" | "memoryGiB" | "localDiskGiB") => ({
      id: cluster.id,
      owner: cluster.name,
      measure,
      unit,
      used: readable(used(key)),
      total: readable(total[key]),
    });
    rows.push(row("vCPU", "", "vcpu"), row("memory", "GiB", "memoryGiB"), row("local disk", "GiB", "localDiskGiB"));
  }
  for (const pool of Object.values(data.pools)) {
    const allocated = (volumesOf.get(pool.id) ?? []).reduce((sum, v) => sum + v.spec.sizeGiB, 0);
    const total = capacityGiB(pool.spec.devices) * pool.spec.overcommit;
    rows.push({ id: pool.id, owner: pool.name, measure: "provisioned", unit: "GiB", used: readable(allocated), total: readable(total) });
  }
  return rows;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
