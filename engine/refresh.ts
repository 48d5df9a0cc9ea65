// Refresh: read every object in state from the backend (many reads at once) and say what changed
// outside virtform. The result is records, so a plan can apply them to a copy and an apply can
// persist them like any other change.
import type { Diagnostic, Value } from "../core/model.ts";
import type { Plan } from "./plan.ts";
import type { Provider } from "./provider.ts";
import type { State, StateRecord } from "./state.ts";
import { changedFields, type FieldChange } from "../core/values.ts";

export interface Drift {
  address: string;
  /** The object's kind and its program-marked secret paths: renderers redact its secret fields. */
  kind: string;
  secretPaths?: string[];
  /** unhealthy: the object exists but the backend cannot serve it (a pool whose bytes are missing). */
  change: "changed" | "deleted" | "unhealthy";
  /** Changed inputs (which the plan will bring back) and outputs. */
  fields: FieldChange[];
  /** Why the object is unhealthy, in the backend's words. */
  reason?: string;
}

export interface Refresh {
  drift: Drift[];
  records: StateRecord[];
}

export async function refreshState(state: State, provider: Provider, concurrency = 32): Promise<Refresh> {
  const entries = Object.entries(state.resources);
  const observed = new Array<Awaited<ReturnType<Provider["read"]>>>(entries.length);
  // One batched read per kind where the provider offers it (one list call, not one call per object)...
  const pending: number[] = [];
  if (provider.readMany) {
    const byKind = new Map<string, number[]>();
    entries.forEach(([, r], i) => {
      const indexes = byKind.get(r.kind);
      if (indexes) indexes.push(i);
      else byKind.set(r.kind, [i]);
    });
    for (const [kind, indexes] of byKind) {
      const found = await provider.readMany(kind, indexes.map((i) => entries[i]![1].id));
      for (const i of indexes) observed[i] = found.get(entries[i]![1].id) ?? null;
    }
  } else {
    pending.push(...entries.keys());
  }
  // ...else many single reads at once.
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const i = pending[next++]!;
      const [, resource] = entries[i]!;
      observed[i] = await provider.read(resource.kind, resource.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));

  const drift: Drift[] = [];
  const records: StateRecord[] = [];
  entries.forEach(([address, resource], i) => {
    const seen = observed[i];
    const about = { address, kind: resource.kind, ...(resource.secretPaths?.length ? { secretPaths: resource.secretPaths } : {}) };
    if (!seen) {
      drift.push({ ...about, change: "deleted", fields: [] });
      records.push({ type: "remove", address });
      return;
    }
    if (seen.unhealthy) drift.push({ ...about, change: "unhealthy", fields: [], reason: seen.unhealthy });
    const inputs = changedFields(resource.inputs, seen.inputs);
    const outputs = changedFields(resource.outputs, seen.outputs).map((f) => ({ ...f, path: `(output) ${f.path}` }));
    if (inputs.length + outputs.length === 0) return;
    drift.push({ ...about, change: "changed", fields: [...inputs, ...outputs] });
    records.push({
      type: "set",
      address,
      resource: { ...resource, inputs: seen.inputs as Record<string, Value>, outputs: seen.outputs as Record<string, Value> },
    });
  });
  drift.sort((a, b) => a.address.localeCompare(b.address));
  return { drift, records };
}

/**
 * An unhealthy object cannot be kept as it is: a plan is an error unless it deletes or replaces
 * the object (`--replace ADDRESS`, or removing it from the program).
 */
export function unhealthyProblems(drift: readonly Drift[], plan: Plan): Diagnostic[] {
  const changes = new Map(plan.changes.filter((c) => !c.deposedId).map((c) => [c.address, c]));
  return drift
    .filter((d) => d.change === "unhealthy")
    .filter((d) => {
      const action = changes.get(d.address)?.action;
      return action !== "delete" && action !== "replace";
    })
    .map((d) => {
      const source = changes.get(d.address)?.source;
      return {
        severity: "error" as const,
        address: d.address,
        message: `the backend cannot serve it: ${d.reason}; replace it (--replace ${d.address}) or remove it from the program`,
        ...(source ? { source } : {}),
      };
    });
}
