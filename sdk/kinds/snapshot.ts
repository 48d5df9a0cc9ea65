import { z } from "zod";
import { defineKind } from "./kind.ts";

/** A volume's contents at one moment. Copy-on-write: taking one is instant whatever the volume's size. */
export const snapshot = defineKind({
  name: "Snapshot",
  addressPrefix: "snapshot",
  description: "A read-only point-in-time copy of a volume; new volumes can be cloned from it.",
  inputs: z
    .object({
      volume: z.string().min(1).describe("Id of the volume to snapshot"),
      deleteProtection: z.boolean().default(false).describe("Refuse deletion while set"),
    })
    .strict(),
  outputs: z.object({
    pool: z.string().describe("Id of the pool holding the snapshot (the volume's)"),
    sizeGiB: z.number().describe("Size of the volume when the snapshot was taken"),
  }),
  // A snapshot is what the volume held when it was taken: another volume means another snapshot.
  change: { volume: "replace", deleteProtection: "in-place" },
});
