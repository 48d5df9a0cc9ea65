// Clusters: hosts created from the declared shape; resizing refuses to strand instances.
import type { ClusterObject, Host } from "../data.ts";
import type { EmulatorContext } from "../context.ts";
import { EmulatorError, conflict } from "../errors.ts";
import { hypervisorReservation, usableCapacity, type HostCapacity } from "./hypervisors.ts";
import type { ObjectService } from "../service.ts";
import { readableAll } from "../figures.ts";

export const clusterService: ObjectService<"clusters"> = {
  collection: "clusters",
  idPrefix: "cl",
  create(ctx, object) {
    checkLocalDisks(ctx, object);
    object.hosts = [];
    resizeHosts(ctx, object);
  },
  update(ctx, object, spec) {
    const previous = object.spec;
    if (spec.hosts.localDiskGiB > previous.hosts.localDiskGiB) checkLocalDisks(ctx, { ...object, spec });
    object.spec = spec;
    try {
      resizeHosts(ctx, object);
      checkInstancesStillFit(ctx, object);
    } catch (err) {
      object.spec = previous;
      resizeHosts(ctx, object);
      throw err;
    }
  },
  delete(ctx, object) {
    const instances = instancesOf(ctx, object.id);
    if (instances.length > 0) {
      throw conflict(`cluster ${object.name} still runs ${instances.length} instance(s): ${instances.map((i) => i.name).join(", ")}`);
    }
  },
  outputs(_ctx, object) {
    const usable = object.hosts.reduce<HostCapacity>(
      (sum, host) => {
        const u = usableCapacity(object, host);
        return { vcpu: sum.vcpu + u.vcpu, memoryGiB: sum.memoryGiB + u.memoryGiB, localDiskGiB: sum.localDiskGiB + u.localDiskGiB };
      },
      { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 },
    );
    return {
      hostIds: object.hosts.map((h) => h.id),
      reservedPerHost: readableAll(hypervisorReservation(object.spec.hypervisor, object.spec.hosts)),
      usable: readableAll(usable),
    };
  },
};

/** Each host's local disks live in a pool of one LUN of the host's local disk size. */
function checkLocalDisks(ctx: EmulatorContext, cluster: ClusterObject): void {
  if (cluster.spec.hosts.localDiskGiB > 0) ctx.storage?.checkDevices([{ what: `the local disk of each host of cluster ${cluster.name}`, sizeGiB: cluster.spec.hosts.localDiskGiB }]);
}

/** Adds or removes hosts (from the end) and applies the declared host size to all of them. */
function resizeHosts(ctx: EmulatorContext, cluster: ClusterObject): void {
  const { count, vcpu, memoryGiB, localDiskGiB } = cluster.spec.hosts;
  const members = cluster.hosts.length > count ? instancesOf(ctx, cluster.id) : [];
  while (cluster.hosts.length > count) {
    const host = cluster.hosts.at(-1)!;
    const residents = members.filter((i) => i.hostId === host.id);
    if (residents.length > 0) {
      throw new EmulatorError(
        "conflict",
        `cannot remove host ${host.id} of cluster ${cluster.name}: it runs ${residents.map((i) => i.name).join(", ")}`,
      );
    }
    cluster.hosts.pop();
  }
  while (cluster.hosts.length < count) {
    cluster.hosts.push({ id: ctx.newId("host"), index: cluster.hosts.length, vcpu, memoryGiB, localDiskGiB });
  }
  cluster.hosts = cluster.hosts.map((h: Host) => ({ ...h, vcpu, memoryGiB, localDiskGiB }));
}

function checkInstancesStillFit(ctx: EmulatorContext, cluster: ClusterObject): void {
  // One pass over the instances for every host's use (not one per host: 10,000 hosts x 100,000 instances).
  const usedBy = new Map<string, HostCapacity>();
  for (const i of instancesOf(ctx, cluster.id)) {
    const used = usedBy.get(i.hostId) ?? { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
    used.vcpu += i.spec.vcpu;
    used.memoryGiB += i.spec.memoryGiB;
    used.localDiskGiB += i.spec.localDiskGiB;
    usedBy.set(i.hostId, used);
  }
  for (const host of cluster.hosts) {
    const usable = usableCapacity(cluster, host);
    const used = usedBy.get(host.id) ?? { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
    for (const key of ["vcpu", "memoryGiB", "localDiskGiB"] as const) {
      if (used[key] > usable[key] + 1e-9) {
        throw new EmulatorError(
          "capacity",
          `host ${host.id} of cluster ${cluster.name} would offer ${usable[key]} ${key} but its instances use ${used[key]}`,
        );
      }
    }
  }
}

export function instancesOf(ctx: EmulatorContext, clusterId: string) {
  return Object.values(ctx.data.instances).filter((i) => i.spec.cluster === clusterId);
}
