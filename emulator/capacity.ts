// What the emulator has and what is used of it: per cluster (after the hypervisor's reservation and
// overcommit) and per storage pool (after thin provisioning). The plan shows it before and after.
import type { CapacityRow } from "../engine/provider.ts";
import { usableCapacity } from "./compute/hypervisors.ts";
import type { EmulatorData } from "./data.ts";
import { capacityGiB } from "./storage/pools.ts";

export function capacityReport(data: EmulatorData): CapacityRow[] {
  const rows: CapacityRow[] = [];
  const instances = Object.values(data.instances);
  for (const cluster of Object.values(data.clusters)) {
    const members = instances.filter((i) => i.spec.cluster === cluster.id);
    const total = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
    for (const host of cluster.hosts) {
      const usable = usableCapacity(cluster, host);
      total.vcpu += usable.vcpu;
      total.memoryGiB += usable.memoryGiB;
      total.localDiskGiB += usable.localDiskGiB;
    }
    const used = (key: "vcpu" | "memoryGiB" | "localDiskGiB") => members.reduce((sum, i) => sum + i.spec[key], 0);
    rows.push(
      { owner: cluster.name, measure: "vCPU", unit: "", used: used("vcpu"), total: total.vcpu },
      { owner: cluster.name, measure: "memory", unit: "GiB", used: used("memoryGiB"), total: total.memoryGiB },
      { owner: cluster.name, measure: "local disk", unit: "GiB", used: used("localDiskGiB"), total: total.localDiskGiB },
    );
  }
  for (const pool of Object.values(data.pools)) {
    const allocated = Object.values(data.volumes)
      .filter((v) => v.spec.pool === pool.id)
      .reduce((sum, v) => sum + v.spec.sizeGiB, 0);
    rows.push({ owner: pool.name, measure: "provisioned", unit: "GiB", used: allocated, total: capacityGiB(pool.spec.devices) * pool.spec.overcommit });
  }
  return rows;
}
