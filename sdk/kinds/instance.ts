import { z } from "zod";
import { placementPolicy } from "./cluster.ts";
import { defineKind } from "./kind.ts";
import { optionalSizeGiB } from "./sizes.ts";

/**
 * One VM. The DSL declares instance groups (`cluster.instances(name, { count, ... })`); count is a
 * meta-argument, as in Terraform, that expands the group into members `instances.web/app[0]`, ...
 * so that changing it plans exactly the members added or removed.
 */
export const instance = defineKind({
  name: "Instance",
  addressPrefix: "instances",
  description: "A virtual machine, member of an instance group on a cluster.",
  inputs: z
    .object({
      cluster: z.string().min(1).describe("Id of the cluster the instance runs on"),
      group: z.string().min(1).describe("Name of the instance group"),
      index: z.int().min(0).describe("Position of the instance in its group"),
      image: z
        .object({
          image: z.string().min(1).describe("Id of the image"),
          variant: z.string().min(1).describe("Name of the variant"),
          digest: z.string().min(1).describe("Content digest of the variant"),
        })
        .strict()
        .describe("The image variant the instance boots"),
      vcpu: z.int().min(1).max(512).describe("Virtual CPUs"),
      memoryGiB: z.number().positive().max(16_384).describe("Memory in GiB"),
      localDiskGiB: optionalSizeGiB().default(0).describe("Ephemeral local disk in GiB; its data is lost on stop"),
      placement: z
        .object({
          policy: placementPolicy.optional().describe("Placement policy; the cluster's when absent"),
          affinityGroup: z
            .string()
            .min(1)
            .max(63)
            .optional()
            .describe("Instances of the cluster naming the same affinity group run on one host"),
          antiAffinityGroup: z
            .string()
            .min(1)
            .max(63)
            .optional()
            .describe("Instances of the cluster naming the same anti-affinity group run on different hosts"),
          maxPerHost: z
            .int()
            .min(1)
            .max(10_000)
            .optional()
            .describe("At most this many members of the instance group on one host"),
        })
        .strict()
        .default({})
        .describe("Where the instance may run; the rules apply when it is placed (create, or a restart that moves it)"),
      powerState: z.enum(["running", "stopped"]).default("running").describe("Desired power state"),
      userData: z.string().optional().describe("cloud-init user data; may hold credentials"),
    })
    .strict(),
  outputs: z.object({
    host: z.string().describe("Id of the host the instance is placed on"),
    state: z.enum(["pending", "running", "stopped", "terminated"]).describe("Power state"),
    imageDigest: z.string().optional().describe("The image digest of the built variant it boots (absent when the variant was not built)"),
  }),
  change: {
    cluster: "replace",
    group: "replace",
    index: "replace",
    image: "replace",
    vcpu: "restart",
    memoryGiB: "restart",
    localDiskGiB: "replace",
    // A new policy only steers later placements; new rules may move the instance, which is a restart.
    placement: "in-place",
    "placement.policy": "in-place",
    "placement.affinityGroup": "restart",
    "placement.antiAffinityGroup": "restart",
    "placement.maxPerHost": "restart",
    powerState: "in-place",
    userData: "replace",
  },
  secrets: ["userData"],
  // The emulator wipes the local disk whenever the VM powers off (a stop, a restart, a terminate).
  ephemeralStorage: { label: "local disk", sizePath: "localDiskGiB", unit: "GiB", powerPath: "powerState", stopped: "stopped" },
});
