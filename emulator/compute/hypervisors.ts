// What each hypervisor architecture keeps of a host for itself. The figures follow the usual
// practice of each design: a bare-metal hypervisor needs little memory and no dedicated CPU; a
// paravirtualized one runs a control domain (Xen's dom0); a hosted one shares the host with a full OS.
import type { ClusterObject, Host } from "../data.ts";

export interface Reservation {
  vcpu: number;
  memoryGiB: number;
}

export function hypervisorReservation(architecture: ClusterObject["spec"]["hypervisor"], host: Host): Reservation {
  switch (architecture) {
    case "native":
      return { vcpu: 0, memoryGiB: Math.min(host.memoryGiB / 2, 1) };
    case "dual-mode":
      return { vcpu: Math.min(1, host.vcpu - 1), memoryGiB: Math.min(host.memoryGiB / 2, 2 + host.memoryGiB * 0.02) };
    case "hosted":
      return {
        vcpu: Math.min(Math.max(1, Math.ceil(host.vcpu * 0.1)), host.vcpu - 1),
        memoryGiB: Math.min(host.memoryGiB / 2, Math.max(4, host.memoryGiB * 0.1)),
      };
  }
}

export type HostCapacity = {
  vcpu: number;
  memoryGiB: number;
  localDiskGiB: number;
};

/** What instances may use on a host: its size less the reservation, times the overcommit ratios. */
export function usableCapacity(cluster: ClusterObject, host: Host): HostCapacity {
  const reserved = hypervisorReservation(cluster.spec.hypervisor, host);
  return {
    vcpu: (host.vcpu - reserved.vcpu) * cluster.spec.overcommit.cpu,
    memoryGiB: (host.memoryGiB - reserved.memoryGiB) * cluster.spec.overcommit.memory,
    localDiskGiB: host.localDiskGiB,
  };
}
