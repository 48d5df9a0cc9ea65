import { z } from "zod";
import { defineKind } from "./kind.ts";

export const attachment = defineKind({
  name: "Attachment",
  addressPrefix: "attachment",
  description: "A volume attached to an instance as a block device.",
  inputs: z
    .object({
      volume: z.string().min(1).describe("Id of the volume"),
      instance: z.string().min(1).describe("Id of the instance"),
      mode: z.enum(["read-write", "read-only"]).default("read-write").describe("Read-only attachments refuse writes"),
      device: z
        .string()
        .regex(/^vd[b-z]$/, "device names run from vdb to vdz")
        .optional()
        .describe("Device name on the instance; the next free one when absent"),
    })
    .strict(),
  outputs: z.object({ device: z.string().describe("Device name on the instance") }),
  change: { volume: "replace", instance: "replace", mode: "replace", device: "replace" },
  // Detach before attaching again: a device name cannot be held twice.
  replaceOrder: "delete-before-create",
});
