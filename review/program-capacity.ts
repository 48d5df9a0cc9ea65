// `review --base` has no backend to rehearse on: the capacity a program asks for is estimated from
// its desired resources with the emulator's own rules (the hypervisor's reservation, overcommit,
// thin provisioning), in aggregate per cluster and pool. Placement on single hosts is not modelled.
import type { DesiredResource, Diagnostic, Reference } from "../core/model.ts";
import type { CapacityRow } from "../engine/provider.ts";
import { usableCapacity, type Architecture } from "../emulator/compute/hypervisors.ts";
import { readable } from "../emulator/figures.ts";
import { capacityGiB } from "../emulator/storage/pools.ts";

type Measure = "vcpu" | "memoryGiB" | "localDiskGiB";
const MEASURES: [Measure, string, string][] = [
  ["vcpu", "vCPU", ""],
  ["memoryGiB", "memory", "GiB"],
  ["localDiskGiB", "local disk", "GiB"],
];

const refOf = (value: unknown) => (value as Reference | undefined)?.$ref;

/** Rows like the emulator's capacity report, one set per cluster and pool the program declares, named by address. */
export function programCapacity(resources: readonly DesiredResource[]): CapacityRow[] {
  const rows: CapacityRow[] = [];
  for (const cluster of resources.filter((r) => r.kind === "Cluster")) {
    const spec = cluster.inputs as unknown as { hypervisor: Architecture; hosts: { count: number; vcpu: number; memoryGiB: number; localDiskGiB: number }; overcommit: { cpu: number; memory: number } };
    const host = { id: "", index: 0, vcpu: spec.hosts.vcpu, memoryGiB: spec.hosts.memoryGiB, localDiskGiB: spec.hosts.localDiskGiB };
    const usable = usableCapacity({ spec } as Parameters<typeof usableCapacity>[0], host);
    const members = resources.filter((r) => r.kind === "Instance" && refOf(r.inputs.cluster) === cluster.address);
    for (const [key, measure, unit] of MEASURES) {
      const used = members.reduce((sum, m) => sum + (typeof m.inputs[key] === "number" ? (m.inputs[key] as number) : 0), 0);
      rows.push({ id: cluster.address, owner: cluster.address, measure, unit, used: readable(used), total: readable(usable[key] * spec.hosts.count) });
    }
  }
  for (const pool of resources.filter((r) => r.kind === "StoragePool")) {
    const spec = pool.inputs as unknown as { devices: { sizeGiB: number }[]; overcommit: number };
    const allocated = resources
      .filter((r) => r.kind === "Volume" && refOf(r.inputs.pool) === pool.address)
      .reduce((sum, v) => sum + (typeof v.inputs.sizeGiB === "number" ? v.inputs.sizeGiB : 0), 0);
    rows.push({ id: pool.address, owner: pool.address, measure: "provisioned", unit: "GiB", used: readable(allocated), total: readable(capacityGiB(spec.devices as Parameters<typeof capacityGiB>[0]) * spec.overcommit) });
  }
  return rows;
}

/** Rows the program asks more of than there is: a plan the backend would refuse. */
export function overcommitted(rows: readonly CapacityRow[]): Diagnostic[] {
  return rows
    .filter((r) => r.used > r.total)
    .map((r) => ({ severity: "error", address: r.owner, message: `${r.owner} ${r.measure}: the program asks for ${r.used}${r.unit ? ` ${r.unit}` : ""}, ${r.total} usable in all` }));
}
