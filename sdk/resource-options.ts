// The options every DSL method takes last (Pulumi's resource options, by the names its users know):
// one schema, from which the type programs see is derived.
import { z } from "zod";
import type { StackOwner } from "./stack-owner.ts";

/** Something a resource can depend on: a resource, or an instance group (all its members). */
export interface Dependable {
  readonly address: string;
  readonly addresses: readonly string[];
  /** The stack that declared it: only that stack may depend on it. */
  readonly owner: StackOwner;
}

/** Any handle with addresses and an owning stack: a resource of a program, an instance group. */
export function isDependable(value: unknown): value is Dependable {
  if (typeof value !== "object" || value === null) return false;
  const { address, addresses, owner } = value as { address?: unknown; addresses?: unknown; owner?: unknown };
  return typeof address === "string" && Array.isArray(addresses) && addresses.every((a) => typeof a === "string") && typeof owner === "object" && owner !== null;
}

const dependable = z.custom<Dependable>(isDependable, "expected a resource or instance group of this program");
const inputPaths = z.array(z.string().min(1));

export const resourceOptions = z
  .object({
    dependsOn: z
      .union([dependable, z.array(dependable)])
      .optional()
      .describe("Resources this one must come after, beyond those its inputs reference"),
    protect: z.boolean().optional().describe("Refuse plans that would delete or replace this resource"),
    ignoreChanges: inputPaths.optional().describe('Input paths whose changes are not planned, e.g. ["sizeGiB"] or ["hosts.count"]'),
    replaceOnChanges: inputPaths.optional().describe("Input paths whose changes replace the resource instead of updating it"),
    deleteBeforeReplace: z.boolean().optional().describe("Replace by deleting the old object first"),
    retainOnDelete: z.boolean().optional().describe("When removed from the program, forget the object instead of deleting it"),
  })
  .strict();

export type ResourceOptions = z.input<typeof resourceOptions>;
