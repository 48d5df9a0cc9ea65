// What each hypervisor architecture keeps of a host for itself. The figures follow the usual
// practice of each design: a bare-metal hypervisor needs little memory, no dedicated CPU and boots
// from a small device of its own; a paravirtualized one runs a control domain (Xen's dom0) with its
// own root disk; a hosted one shares the host with a full OS. README.md, "Hypervisor architectures",
// has the same table for users: keep the two in step.
import type { ClusterObject, Host } from "../data.ts";

export type HostCapacity = {
  vcpu: number;
  memoryGiB: number;
  localDiskGiB: number;
};

export type Architecture = ClusterObject["spec"]["hypervisor"];

/** Never more than half a host, so a tiny host still offers something. */
export function hypervisorReservation(architecture: Architecture, host: Pick<Host, "vcpu" | "memoryGiB" | "localDiskGiB">): HostCapacity {
  const half = { vcpu: host.vcpu - 1, memoryGiB: host.memoryGiB / 2, localDiskGiB: host.localDiskGiB / 2 };
  switch (architecture) {
    case "native":
      return { vcpu: 0, memoryGiB: Math.min(half.memoryGiB, 1), localDiskGiB: 0 };
    case "dual-mode":
      return {
        vcpu: Math.min(1, half.vcpu),
        memoryGiB: Math.min(half.memoryGiB, 2 + host.memoryGiB * 0.02),
        localDiskGiB: Math.min(half.localDiskGiB, 8),
      };
    case "hosted":
      return {
        vcpu: Math.min(Math.max(1, Math.ceil(host.vcpu * 0.1)), half.vcpu),
        memoryGiB: Math.min(half.memoryGiB, Math.max(4, host.memoryGiB * 0.1)),
        localDiskGiB: Math.min(half.localDiskGiB, 20),
      };
  }
}

/** What instances may use on a host: its size less the reservation, times the overcommit ratios. */
export function usableCapacity(cluster: Pick<ClusterObject, "spec">, host: Host): HostCapacity {
  const reserved = hypervisorReservation(cluster.spec.hypervisor, host);
  return {
    vcpu: (host.vcpu - reserved.vcpu) * cluster.spec.overcommit.cpu,
    memoryGiB: (host.memoryGiB - reserved.memoryGiB) * cluster.spec.overcommit.memory,
    localDiskGiB: host.localDiskGiB - reserved.localDiskGiB,
  };
}
