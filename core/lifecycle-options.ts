// Pulumi's resource options that shape a plan, by the names its users know: one schema, from which
// the engine's LifecycleOptions and the DSL's ResourceOptions (these plus dependsOn) are derived.
import { z } from "zod";

const inputPaths = z.array(z.string().min(1));

export const lifecycleOptions = z
  .object({
    protect: z.boolean().optional().describe("Refuse plans that would delete or replace this resource"),
    ignoreChanges: inputPaths.optional().describe('Input paths whose changes are not planned, e.g. ["sizeGiB"] or ["hosts.count"]'),
    replaceOnChanges: inputPaths.optional().describe("Input paths whose changes replace the resource instead of updating it"),
    deleteBeforeReplace: z.boolean().optional().describe("Replace by deleting the old object first"),
    retainOnDelete: z.boolean().optional().describe("When removed from the program, forget the object instead of deleting it"),
  })
  .strict();

export type LifecycleOptions = z.infer<typeof lifecycleOptions>;
