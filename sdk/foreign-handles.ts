// Finds the handles of another stack in a value a program passes: a declaration's arguments, its
// dependsOn, a stack's outputs. See stack-owner.ts for why each is an error.
import { Output } from "./output.ts";
import { ImageVariant } from "./resources.ts";
import { Secret } from "./secret.ts";
import type { Dependable } from "./declaration.ts";
import type { ForeignUse, StackOwner } from "./stack-owner.ts";

export function foreignHandles(value: unknown, owner: StackOwner, path = "", seen = new Set<object>()): ForeignUse[] {
  if (typeof value !== "object" || value === null) return []; // most of a program's values: no handle
  if (value instanceof Output) return value.owner === owner ? [] : [{ address: value.address, owner: value.owner, path }];
  if (value instanceof Secret) return foreignHandles(value.value, owner, path, seen);
  if (value instanceof ImageVariant) return foreignHandles(value.image.id, owner, path, seen);
  // A value that contains itself is reported by evaluation (a cycle); here it is walked once.
  if (seen.has(value)) return [];
  seen.add(value);
  if (Array.isArray(value)) return value.flatMap((item, i) => foreignHandles(item, owner, `${path}[${i}]`, seen));
  if (Object.getPrototypeOf(value) !== Object.prototype) return [];
  let entries: [string, unknown][];
  try {
    entries = Object.entries(value);
  } catch {
    return []; // a getter that throws: evaluation reports it at the declaration
  }
  return entries.flatMap(([k, v]) => (typeof v !== "object" || v === null ? [] : foreignHandles(v, owner, path ? `${path}.${k}` : k, seen)));
}

export function foreignDependencies(dependsOn: Dependable | Dependable[] | undefined, owner: StackOwner): ForeignUse[] {
  const all = dependsOn === undefined ? [] : Array.isArray(dependsOn) ? dependsOn : [dependsOn];
  return all.filter((d) => d.owner !== owner).map((d) => ({ address: d.address, owner: d.owner, path: "dependsOn" }));
}
