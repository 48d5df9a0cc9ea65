// The options every DSL method takes last (Pulumi's resource options, by the names its users know):
// the lifecycle options' schema plus dependsOn, from which the type programs see is derived.
import { z } from "zod";
import { lifecycleOptions } from "../core/lifecycle-options.ts";
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

export const resourceOptions = z
  .object({
    dependsOn: z
      .union([dependable, z.array(dependable)])
      .optional()
      .describe("Resources this one must come after, beyond those its inputs reference"),
    ...lifecycleOptions.shape,
  })
  .strict();

export type ResourceOptions = z.input<typeof resourceOptions>;
