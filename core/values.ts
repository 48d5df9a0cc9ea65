// Value helpers shared by diff, plan and apply: structural equality (never JSON.stringify, whose
// key order would invent diffs), reference resolution and per-field change listing.
import { UNKNOWN, isReference, isUnknown, type Reference, type Value } from "./model.ts";

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/** Reads a dotted path ("capacity.vcpu") out of a value; undefined when absent. */
export function getPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split(".")) {
    if (isUnknown(current)) return UNKNOWN;
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Every reference inside a value, for dependency edges. */
export function collectReferences(v: unknown, into: Reference[] = []): Reference[] {
  if (typeof v !== "object" || v === null) return into; // most values: a leaf
  if (isReference(v)) into.push(v);
  else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) collectReferences(v[i], into);
  else for (const key of Object.keys(v)) collectReferences((v as Record<string, unknown>)[key], into);
  return into;
}

/** Replaces each reference by what `lookup` says it is (a value, or UNKNOWN), in a copy of `v`. */
export function resolveReferences<T>(v: T, lookup: (ref: Reference) => Value): T {
  if (typeof v !== "object" || v === null) return v;
  if (isReference(v)) return lookup(v) as T;
  if (Array.isArray(v)) return v.map((item) => resolveReferences(item, lookup)) as T;
  if (isUnknown(v)) return v;
  // A loop rather than fromEntries(entries().map()): plans resolve every input of thousands of resources.
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const item = resolveReferences((v as Record<string, unknown>)[key], lookup);
    if (key === "__proto__") Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy as T;
}

export interface FieldChange {
  /** Dotted path of the changed leaf ("hosts.count"); array elements are compared whole. */
  path: string;
  before: Value | undefined;
  after: Value | undefined;
}

/**
 * Lists the leaves that differ between two input objects. Objects are walked field by field; arrays
 * and scalars are compared whole, so "packages" shows as one change rather than index noise.
 */
export function changedFields(before: unknown, after: unknown, prefix = ""): FieldChange[] {
  if (deepEqual(before, after)) return [];
  const bothObjects =
    isPlainObject(before) && isPlainObject(after) && !isUnknown(before) && !isUnknown(after);
  if (!bothObjects) return [{ path: prefix, before: before as Value, after: after as Value }];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((key) =>
    changedFields(before[key], after[key], prefix ? `${prefix}.${key}` : key),
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Replaces the values at `paths` (dotted) inside `values` by what `transform` makes of them; values already encrypted are left alone. */
export function mapPaths(values: Record<string, Value>, paths: readonly string[], transform: (v: Value) => Value): Record<string, Value> {
  if (paths.length === 0) return values;
  const copy = structuredClone(values);
  for (const path of paths) {
    const parts = path.split(".");
    let node: Record<string, Value> | undefined = copy;
    for (const part of parts.slice(0, -1)) {
      const next: Value | undefined = node?.[part];
      node = typeof next === "object" && next !== null && !Array.isArray(next) ? next : undefined;
    }
    const last = parts.at(-1)!;
    if (node && node[last] !== undefined && node[last] !== null && !(typeof node[last] === "object" && node[last] !== null && "$encrypted" in (node[last] as object))) node[last] = transform(node[last]!);
  }
  return copy;
}
