// Deferred resources: a Pulumi program computed an input with a function (apply, interpolate) over an
// output that is not known yet, because the resource it reads is not applied yet. As Terraform's
// deferred changes, such a resource is left out of this pass's plan and planned in a later pass of
// the same apply, once the program reruns with the real outputs (passes.ts).
import type { LifecycleOptions } from "../../core/lifecycle-options.ts";
import type { DesiredResource, SourceLocation } from "../../core/model.ts";
import type { KindName } from "../../sdk/kinds/index.ts";

export interface Deferred {
  address: string;
  kind: KindName;
  source?: SourceLocation;
  options: LifecycleOptions;
  /** Inputs known only after apply, each with the resources its value is computed from. */
  unknown: { path: string; from: string[] }[];
  /** Deferred resources whose outputs it takes, or that it depends on. */
  waitsFor: string[];
}

/** Moves every resource that takes an output of a deferred one, or depends on one, to `deferred`; returns the rest. */
export function deferDependents(resources: readonly DesiredResource[], deferred: Deferred[]): DesiredResource[] {
  const waiting = new Set(deferred.map((d) => d.address));
  let kept = [...resources];
  for (let moved = true; moved; ) {
    moved = false;
    const next: DesiredResource[] = [];
    for (const r of kept) {
      const waitsFor = r.dependsOn.filter((a) => waiting.has(a));
      if (waitsFor.length === 0) {
        next.push(r);
        continue;
      }
      deferred.push({ address: r.address, kind: r.kind as KindName, ...(r.source ? { source: r.source } : {}), options: r.options, unknown: [], waitsFor });
      waiting.add(r.address);
      moved = true;
    }
    kept = next;
  }
  return kept;
}

/** The plan's "Deferred" section; empty when nothing waits. */
/**
 * For `plan --json`: as Terraform's `deferred_changes`, each deferred resource with why
 * ("inputs_unknown": an input computed from an output not applied yet; "waits_for": it takes an
 * output of, or depends on, a deferred resource), and the stack outputs not known yet.
 */
export function deferredToJson(deferred: readonly Deferred[], unknownOutputs: readonly string[]) {
  return {
    deferred_changes: deferred.map((d) => ({
      address: d.address,
      kind: d.kind,
      reason: d.unknown.length > 0 ? "inputs_unknown" : "waits_for",
      unknown_inputs: d.unknown.map((u) => ({ path: u.path, computed_from: u.from })),
      waits_for: d.waitsFor,
      ...(d.source ? { range: { filename: d.source.file, start: { line: d.source.line } } } : {}),
    })),
    deferred_outputs: [...unknownOutputs],
  };
}

/** Why a resource is deferred: "sizeGiB is computed from volume.a; waits for volume.b". */
export function whyDeferred(d: Deferred): string {
  return [
    ...d.unknown.map((u) => `${u.path || "inputs"} is computed from ${u.from.length > 0 ? u.from.join(", ") : "an output not yet known"}`),
    ...(d.waitsFor.length > 0 ? [`waits for ${d.waitsFor.join(", ")}`] : []),
  ].join("; ");
}

export function renderDeferredText(deferred: readonly Deferred[], unknownOutputs: readonly string[], skipped = 0): string {
  // Functions over outputs not known yet may declare resources: until they run, nothing is deleted.
  const partial = skipped > 0 ? `Deletions wait until the program is fully known: ${skipped} program function${skipped === 1 ? "" : "s"} (apply, interpolate) read${skipped === 1 ? "s" : ""} outputs known only after apply.\n\n` : "";
  if (deferred.length === 0 && unknownOutputs.length === 0) return partial && `\n${partial}`;
  const lines = ["", "Deferred (known after apply: planned in a later pass, once what they read is applied):"];
  for (const d of deferred) {
    const where = d.source ? `  # ${d.source.file}:${d.source.line}` : "";
    lines.push(`  ~ ${d.address}: ${whyDeferred(d)}${where}`);
  }
  if (unknownOutputs.length > 0) lines.push(`  outputs ${unknownOutputs.join(", ")}: known after apply`);
  return lines.join("\n") + "\n\n" + partial;
}
