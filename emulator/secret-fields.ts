// Which values of a stored object are secret, and rewriting them: sealed on their way to disk,
// opened on load, redacted for `emulator inspect`. Secret are the kind's secret fields (from its
// schema: an instance's userData), the spec paths the client marked (a program's secret() values,
// kept in the object's `secretPaths`), and the copies a service keeps of them elsewhere in the object
// (an image's resolved variant configs).
import { SecretsError } from "../core/secrets-error.ts";
import { secretPathsOf, type KindName } from "../sdk/kinds/index.ts";
import type { Collection } from "./data.ts";
import type { ObjectOf, ObjectService } from "./service.ts";
import { isSealed, type SecretKey } from "./secret-key.ts";

export const REDACTED = "(sensitive)";

/** Paths in the object (`spec.userData`, `variants.heavy.config.password`) that hold a secret value. */
export function secretPathsIn(kind: KindName, service: ObjectService<Collection>, object: ObjectOf<Collection>): string[] {
  const specPaths = secretPathsOf(kind, object.secretPaths);
  if (specPaths.length === 0) return [];
  const paths = [...specPaths.map((p) => `spec.${p}`), ...(service.secretCopies?.(object, specPaths) ?? [])];
  return paths.filter((path) => valueAt(object, path) !== undefined);
}

function valueAt(object: unknown, path: string): unknown {
  let node: unknown = object;
  for (const part of path.split(".")) node = isRecord(node) ? node[part] : undefined;
  return node ?? undefined;
}

/** A copy of `object` with the value at each path that holds one transformed; the original is untouched. */
export function mapSecretPaths<T extends object>(object: T, paths: readonly string[], transform: (value: unknown) => unknown): T {
  if (paths.length === 0) return object;
  const copy = structuredClone(object);
  for (const path of paths) {
    const parts = path.split(".");
    let node: unknown = copy;
    for (const part of parts.slice(0, -1)) node = isRecord(node) ? node[part] : undefined;
    const last = parts.at(-1)!;
    if (isRecord(node) && node[last] !== undefined && node[last] !== null) node[last] = transform(node[last]);
  }
  return copy;
}

/** Opens every sealed value anywhere in `value`, in place. */
export function openSealed(value: unknown, key: SecretKey | undefined): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => (isSealed(item) ? (value[i] = open(item, key)) : openSealed(item, key)));
  } else if (isRecord(value)) {
    for (const [k, item] of Object.entries(value)) {
      if (isSealed(item)) value[k] = open(item, key);
      else if (typeof item === "object" && item !== null) openSealed(item, key);
    }
  }
}

function open(sealed: Parameters<SecretKey["open"]>[0], key: SecretKey | undefined): unknown {
  if (!key) throw new SecretsError(`the emulator's data holds sealed secrets but its key file is missing`);
  return key.open(sealed);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
