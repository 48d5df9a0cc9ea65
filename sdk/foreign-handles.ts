// Finds the handles of another stack in a value a program passes: a declaration's arguments, its
// dependsOn, a stack's outputs. See stack-owner.ts for why each is an error.
import { Output } from "./output.ts";
import { ImageVariant } from "./resources.ts";
import { Secret } from "./secret.ts";
import type { Dependable } from "./declaration.ts";
import type { ForeignUse, StackOwner } from "./stack-owner.ts";

export function foreignHandles(value: unknown, owner: StackOwner, path = ""): ForeignUse[] {
  const found: ForeignUse[] = [];
  collect(value, owner, path, new Set<object>(), found);
  return found;
}

/** foreignHandles into one list (it runs per declaration: no list per value walked). */
function collect(value: unknown, owner: StackOwner, path: string, seen: Set<object>, found: ForeignUse[]): void {
  if (typeof value !== "object" || value === null) return; // most of a program's values: no handle
  if (value instanceof Output) {
    if (value.owner !== owner) found.push({ address: value.address, owner: value.owner, path });
    return;
  }
  if (value instanceof Secret) return collect(value.value, owner, path, seen, found);
  if (value instanceof ImageVariant) return collect(value.image.id, owner, path, seen, found);
  // A value that contains itself is reported by evaluation (a cycle); here it is walked once.
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => collect(item, owner, `${path}[${i}]`, seen, found));
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return;
  let entries: [string, unknown][];
  try {
    entries = Object.entries(value);
  } catch {
    return; // a getter that throws: evaluation reports it at the declaration
  }
  for (const [k, v] of entries) if (typeof v === "object" && v !== null) collect(v, owner, path ? `${path}.${k}` : k, seen, found);
}

export function foreignDependencies(dependsOn: Dependable | Dependable[] | undefined, owner: StackOwner): ForeignUse[] {
  const all = dependsOn === undefined ? [] : Array.isArray(dependsOn) ? dependsOn : [dependsOn];
  return all.filter((d) => d.owner !== owner).map((d) => ({ address: d.address, owner: d.owner, path: "dependsOn" }));
}
