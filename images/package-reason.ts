// Why a package is in a set: one vocabulary for the solver's resolutions and the lock's entries
// (the lock stores exactly what the solver says, plus `base` for the base release's own packages).
import { z } from "zod";

export const packageReason = z.discriminatedUnion("kind", [
  /** `via`: the virtual name that was requested. */
  z.object({ kind: z.literal("requested"), constraint: z.string().optional(), via: z.string().optional() }).strict(),
  z.object({ kind: z.literal("essential") }).strict(),
  /** One of the base release's essential or required packages. */
  z.object({ kind: z.literal("base"), base: z.string() }).strict(),
  z
    .object({
      kind: z.literal("dependency"),
      parent: z.string(),
      field: z.enum(["Depends", "Pre-Depends"]),
      relation: z.string(),
    })
    .strict(),
]);

export type PackageReason = z.infer<typeof packageReason>;
/** What the solver says: it knows nothing of base releases. */
export type SolverReason = Exclude<PackageReason, { kind: "base" }>;

/**
 * The chain from a requested, essential or base package down to `name`, e.g. for
 * `virtform images why`; undefined when the set does not hold `name`.
 */
export function why(packages: readonly { name: string; version: string; reason: PackageReason }[], name: string): string[] | undefined {
  const byName = new Map(packages.map((p) => [p.name, p]));
  let cur = byName.get(name);
  if (cur === undefined) return undefined;
  const chain: string[] = [];
  const seen = new Set<string>();
  while (cur !== undefined && !seen.has(cur.name)) {
    seen.add(cur.name);
    const r = cur.reason;
    if (r.kind === "requested") {
      chain.unshift(`${cur.name} ${cur.version} (requested${r.constraint !== undefined ? ` ${r.constraint}` : ""}${r.via !== undefined ? ` as ${r.via}` : ""})`);
      break;
    }
    if (r.kind === "essential") {
      chain.unshift(`${cur.name} ${cur.version} (essential)`);
      break;
    }
    if (r.kind === "base") {
      chain.unshift(`${cur.name} ${cur.version} (base ${r.base})`);
      break;
    }
    chain.unshift(`${cur.name} ${cur.version} (${r.field}: ${r.relation} of ${r.parent})`);
    cur = byName.get(r.parent);
  }
  return chain;
}
