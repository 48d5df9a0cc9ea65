// Lost state: objects the backend holds for this stack (by their owner tags) that state does not
// know. State deleted, or a snapshot restored from history, must not make the next apply create
// every resource a second time beside the first: a plan that would create an address the backend
// already holds for the stack is refused until the objects are adopted (`virtform state recover`)
// or duplicates are allowed. Objects whose address the plan does not create again are only reported.
import type { Plan } from "./plan.ts";
import type { Owned, OwnedRef, Provider } from "./provider.ts";
import type { State } from "./state.ts";

/** Objects tagged with the state's stack whose ids state records nowhere (resources, deposed, pending). */
export async function unrecordedObjects(state: State, provider: Provider): Promise<OwnedRef[]> {
  return provider.listOwned ? unrecordedOf(state, await provider.listOwned(state.stack)) : [];
}

/** Of the objects the backend holds for the stack, those state does not record. */
export function unrecordedOf<T extends OwnedRef>(state: State, owned: readonly T[]): T[] {
  const known = new Set<string>();
  for (const r of Object.values(state.resources)) known.add(`${r.kind} ${r.id}`);
  for (const d of state.deposed) known.add(`${d.kind} ${d.id}`);
  for (const p of Object.values(state.pending)) if (p.id) known.add(`${p.kind} ${p.id}`);
  return owned.filter((o) => !known.has(`${o.kind} ${o.id}`));
}

export interface LostObjectsCheck {
  /** Why the plan may not go ahead (it would create duplicates); absent when it may. */
  refuse?: string;
  /** What to tell the user when the plan goes ahead anyway. */
  warn?: string;
}

export function checkLostObjects(state: State, plan: Plan, unrecorded: readonly OwnedRef[], allowDuplicates: boolean): LostObjectsCheck {
  if (unrecorded.length === 0) return {};
  const held = new Set(unrecorded.map((o) => `${o.kind} ${o.owner.address}`));
  const duplicates = plan.changes.filter((c) => c.action === "create" && held.has(`${c.kind} ${c.address}`)).map((c) => c.address);
  const lineages = [...new Set(unrecorded.map((o) => o.owner.lineage))];
  const holds =
    `the backend holds ${count(unrecorded.length, "object")} of stack ${state.stack} that state does not ` +
    `(lineage ${lineages.join(", ")}${lineages.includes(state.lineage) ? "" : `; state's is ${state.lineage}`}; e.g. ${examples(unrecorded)})`;
  if (duplicates.length === 0) {
    // Copies of addresses state holds (left by --allow-duplicates) cannot be adopted, only removed.
    const copies = unrecorded.filter((o) => state.resources[o.owner.address]?.kind === o.kind).length;
    const adoptable = unrecorded.length - copies;
    const parts = [
      adoptable > 0 ? `\`virtform state recover\` adopts ${adoptable === unrecorded.length ? "them" : adoptable} into state` : "",
      copies > 0
        ? `${copies === unrecorded.length ? "they duplicate" : `${copies} of them duplicate`} addresses state holds: to delete one, \`virtform import\` it under a spare address the program does not declare, and apply`
        : "",
    ];
    return { warn: `${holds}; ${parts.filter(Boolean).join("; ")}` };
  }
  const again = `the plan would create ${duplicates.length} of their addresses again`;
  if (allowDuplicates) return { warn: `${holds}; ${again}: creating new objects beside them (--allow-duplicates)` };
  return { refuse: `${holds}, and ${again}.\nAdopt them with \`virtform state recover\`, or pass --allow-duplicates to create new objects beside them.` };
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function examples(objects: readonly OwnedRef[], max = 3): string {
  const shown = objects.slice(0, max).map((o) => `${o.owner.address} = ${o.id}`);
  return objects.length > max ? `${shown.join(", ")}, ...` : shown.join(", ");
}

/** The objects the backend holds for the stack (refs), and those state does not record, read. */
export async function readUnrecorded(state: State, provider: Provider): Promise<{ owned: OwnedRef[]; unrecorded: Owned[] }> {
  const owned = provider.listOwned ? await provider.listOwned(state.stack) : [];
  const unrecorded: Owned[] = [];
  const byKind = new Map<string, OwnedRef[]>();
  for (const o of unrecordedOf(state, owned)) byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o]);
  for (const [kind, refs] of byKind) {
    const read = provider.readMany ? await provider.readMany(kind, refs.map((r) => r.id)) : undefined;
    for (const ref of refs) {
      const seen = read ? read.get(ref.id) : await provider.read(kind, ref.id);
      if (seen) unrecorded.push({ ...seen, ...ref }); // gone since it was listed: nothing to adopt
    }
  }
  return { owned, unrecorded };
}
