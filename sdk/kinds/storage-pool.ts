import { z } from "zod";
import { defineKind } from "./kind.ts";
import { MAX_DEVICES_PER_POOL, sizeGiB } from "./sizes.ts";

export const storagePool = defineKind({
  name: "StoragePool",
  addressPrefix: "pool",
  description:
    "Backing devices mapped to LUNs and offered as one capacity; consumers ask for an amount of storage and never see LUNs.",
  inputs: z
    .object({
      media: z.enum(["ssd", "hdd", "nvme"]).describe("Media class of the backing devices"),
      devices: z
        .array(z.object({ sizeGiB: sizeGiB().describe("Size of the device in GiB (1 MiB to 1 PiB)") }).strict())
        .min(1)
        .max(MAX_DEVICES_PER_POOL, { error: `a pool takes at most ${MAX_DEVICES_PER_POOL} devices` })
        .describe("Backing devices; each becomes a LUN"),
      overcommit: z
        .number()
        .min(1)
        .max(20)
        .default(1)
        .describe("Thin provisioning: volumes may add up to this multiple of the devices' capacity"),
      maxVolumeGiB: sizeGiB().optional().describe("Largest volume the pool accepts, in GiB"),
      quota: z
        .object({
          volumes: z.int().min(0).optional().describe("At most this many volumes (snapshots not counted)"),
          allocatedGiB: z.number().min(0).optional().describe("At most this many GiB allocated to volumes, below what overcommit allows"),
        })
        .strict()
        .optional()
        .describe("Limits for the pool's consumers, enforced when volumes are created or grown"),
    })
    .strict(),
  outputs: z.object({
    capacityGiB: z.number().describe("Sum of the devices' sizes"),
    provisionableGiB: z.number().describe("Capacity times overcommit: what volumes may add up to"),
    luns: z.number().describe("Number of LUNs"),
  }),
  change: { media: "replace", devices: "in-place", overcommit: "in-place", maxVolumeGiB: "in-place", quota: "in-place" },
});
