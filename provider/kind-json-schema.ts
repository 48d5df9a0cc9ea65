// A kind's inputs or outputs as JSON Schema (z.toJSONSchema): where the Pulumi and Terraform schemas
// both start, each then walking it into its own type system.
import { z } from "zod";
import type { Kind } from "../sdk/kinds/kind.ts";

export type JsonSchema = { [key: string]: unknown };

/**
 * `io: "input"` is what a program may write (fields with defaults optional); `"output"` what the
 * value holds once parsed (defaults applied, so those fields are required). Refinements and
 * transforms have no JSON Schema form and are left out ("any").
 */
export function kindJsonSchema(kind: Kind, part: "inputs" | "outputs", io: "input" | "output"): JsonSchema {
  return z.toJSONSchema(kind[part], { io, unrepresentable: "any" }) as JsonSchema;
}
