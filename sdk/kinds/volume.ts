import { z } from "zod";
import { defineKind } from "./kind.ts";
import { sizeGiB } from "./sizes.ts";

export const volume = defineKind({
  name: "Volume",
  addressPrefix: "volume",
  description: "Persistent block storage from a pool, independent of any instance: its data outlives them all.",
  inputs: z
    .object({
      pool: z.string().min(1).describe("Id of the storage pool"),
      sizeGiB: sizeGiB().describe("Size in GiB (1 MiB to 1 PiB); grows in place, never shrinks"),
      multiAttach: z.boolean().default(false).describe("Whether several instances may attach it at once"),
      deleteProtection: z.boolean().default(false).describe("Refuse deletion while set"),
      source: z
        .string()
        .min(1)
        .optional()
        .describe("Id of a snapshot or volume of the same pool to clone (copy-on-write) at creation"),
    })
    .strict(),
  outputs: z.object({}),
  change: { pool: "replace", sizeGiB: "in-place", multiAttach: "in-place", deleteProtection: "in-place", source: "replace" },
});
