import { z } from "zod";
import { defineKind } from "./kind.ts";
import { optionalSizeGiB } from "./sizes.ts";

export const hypervisorArchitecture = z
  .enum(["native", "hosted", "dual-mode"])
  .describe(
    "native: a bare-metal hypervisor; hosted: the hypervisor runs on a host OS that keeps part of each host; dual-mode: paravirtualized, a control domain keeps a smaller share",
  );

export const placementPolicy = z
  .enum(["spread", "pack"])
  .describe("spread: the host with the most free memory first; pack: the fullest host that fits first");

export const cluster = defineKind({
  name: "Cluster",
  addressPrefix: "cluster",
  description: "A pool of hypervisor hosts offering one aggregate capacity to instance groups.",
  inputs: z
    .object({
      hypervisor: hypervisorArchitecture,
      hosts: z
        .object({
          count: z.int().min(1).max(10_000).describe("Number of hosts"),
          vcpu: z.int().min(1).max(4096).describe("CPU threads per host"),
          memoryGiB: z.number().positive().max(65_536).describe("Memory per host in GiB"),
          localDiskGiB: optionalSizeGiB().describe("Local disk per host in GiB, for instances' ephemeral disks"),
          uris: z
            .array(z.string().regex(/^[a-z0-9+]+:\/\/[^\s]*$/, 'expected a libvirt connection URI like "qemu:///system" or "qemu+ssh://user@host/system"'))
            .min(1)
            .optional()
            .describe(
              "libvirt connection URIs of the real hosts, used by the libvirt backend instead of count, vcpu, memoryGiB and localDiskGiB (it reads each host's size from the host); the emulator ignores them. A stack's virtform.<stack>.json may override them",
            ),
        })
        .strict()
        .describe("The hosts of the cluster, all alike"),
      overcommit: z
        .object({
          // No hard limit in OpenStack (Nova's cpu_allocation_ratio; 16 was its default): idle or
          // small guests (test and CI hosts) run denser than 16. Above 64 is more a slip than a plan.
          cpu: z.number().min(1).max(64).default(1).describe("vCPUs offered per CPU thread"),
          memory: z.number().min(1).max(4).default(1).describe("Memory offered per GiB of RAM"),
        })
        .strict()
        .default({ cpu: 1, memory: 1 })
        .describe("Overcommit ratios applied to what each host offers"),
      placement: placementPolicy.default("spread").describe("Default placement policy for instances"),
    })
    .strict()
    // Paravirtualized guests hold their memory through the control domain's grant tables: no page
    // sharing or host swap behind their back, so memory cannot be promised twice (Xen PV's rule).
    .superRefine((spec, ctx) => {
      if (spec.hypervisor === "dual-mode" && spec.overcommit.memory > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["overcommit", "memory"],
          message: `dual-mode (paravirtualized) hosts cannot overcommit memory (got ${spec.overcommit.memory}); use 1, or a native or hosted hypervisor`,
        });
      }
    }),
  outputs: z.object({
    hostIds: z.array(z.string()).describe("Ids of the cluster's hosts"),
    reservedPerHost: z
      .object({ vcpu: z.number(), memoryGiB: z.number(), localDiskGiB: z.number() })
      .describe("What the hypervisor architecture keeps of each host for itself (README: Hypervisor architectures)"),
    usable: z
      .object({ vcpu: z.number(), memoryGiB: z.number(), localDiskGiB: z.number() })
      .describe("What instances can use in total, after the hypervisor's reservation and overcommit"),
  }),
  change: {
    hypervisor: "replace",
    hosts: "in-place",
    overcommit: "in-place",
    placement: "in-place",
  },
});
