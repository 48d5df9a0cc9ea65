// `state recover`: adopt into state the objects the backend holds for the stack that state lost,
// each at the address its tags name (an import by tags). Where the program is at hand it supplies
// what the backend does not keep (dependencies, secret paths, source lines, lifecycle options);
// otherwise dependencies are read off the inputs (an input equal to another object's id).
import type { DesiredResource, ResourceState, Value } from "../core/model.ts";
import type { Owned, OwnedRef } from "./provider.ts";
import type { State, StateRecord } from "./state.ts";

export interface Adoption {
  records: StateRecord[];
  adopted: Owned[];
  /** Objects left as they are, with why. */
  skipped: { object: Owned; reason: string }[];
  /** The lineage state takes, when it had none of its own in the backend (a state made anew). */
  lineage?: string;
}

/** `owned`: every object the backend holds for the stack; `lost`: those state does not record, read. */
export function planAdoption(
  state: State,
  owned: readonly OwnedRef[],
  lost: readonly Owned[],
  program?: ReadonlyMap<string, DesiredResource>,
): Adoption {
  const byAddress = new Map<string, Owned[]>();
  for (const o of lost) byAddress.set(o.owner.address, [...(byAddress.get(o.owner.address) ?? []), o]);
  const adopted: Owned[] = [];
  const skipped: Adoption["skipped"] = [];
  for (const [address, claims] of byAddress) {
    const held = state.resources[address];
    if (held) {
      for (const object of claims) skipped.push({ object, reason: `state has ${address} as ${held.id} already: this one is another copy (to delete it, \`virtform import\` it under a spare address the program does not declare, and apply)` });
    } else if (claims.length > 1) {
      const ids = claims.map((c) => c.id).join(", ");
      for (const object of claims) skipped.push({ object, reason: `${claims.length} objects claim ${address} (${ids}): import the one to keep with \`virtform import ${address} ID\`` });
    } else adopted.push(claims[0]!);
  }

  // Dependencies from ids: an input holding another object's id depends on that object.
  const addressOfId = new Map<string, string>();
  for (const [address, r] of Object.entries(state.resources)) addressOfId.set(r.id, address);
  for (const o of adopted) addressOfId.set(o.id, o.owner.address);
  const records: StateRecord[] = adopted.map((o) => {
    const address = o.owner.address;
    const desired = program?.get(address);
    const resource: ResourceState = {
      kind: o.kind,
      id: o.id,
      inputs: o.inputs,
      outputs: o.outputs,
      dependsOn: desired && desired.kind === o.kind ? desired.dependsOn : idDependencies(o.inputs, addressOfId, address),
      ...(desired?.source && { source: desired.source }),
      ...(desired?.secretPaths?.length && { secretPaths: desired.secretPaths }),
      ...((desired?.options.protect || desired?.options.retainOnDelete) && {
        options: { ...(desired.options.protect && { protect: true }), ...(desired.options.retainOnDelete && { retainOnDelete: true }) },
      }),
    };
    return { type: "set", address, resource };
  });

  // A state whose lineage no object carries was made anew (deleted, or rebuilt from a journal):
  // it takes the lineage most of the adopted objects carry, so history continues where it was.
  let lineage: string | undefined;
  if (adopted.length > 0 && !owned.some((o) => o.owner.lineage === state.lineage)) {
    const counts = new Map<string, number>();
    for (const o of adopted) counts.set(o.owner.lineage, (counts.get(o.owner.lineage) ?? 0) + 1);
    lineage = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    records.unshift({ type: "lineage", lineage });
  }
  return { records, adopted, skipped, ...(lineage && { lineage }) };
}

function idDependencies(inputs: Record<string, Value>, addressOfId: ReadonlyMap<string, string>, self: string): string[] {
  const found = new Set<string>();
  const walk = (v: Value) => {
    if (typeof v === "string") {
      const address = addressOfId.get(v);
      if (address && address !== self) found.add(address);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(inputs);
  return [...found].sort();
}
