// Secret fields never leave the engine in clear: every renderer goes through here. A resource's
// secret paths are its kind's secret fields plus the values the program wrapped with secret().
import type { KindInfo, Value } from "../model.ts";
import type { Drift } from "../refresh.ts";
import { mapPaths } from "../values.ts";

export const REDACTED = "(sensitive)";

export function secretPaths(kind: KindInfo | undefined, extra: readonly string[] | undefined = []): readonly string[] {
  return [...(kind?.secrets ?? []), ...extra];
}

export function redact(values: Record<string, Value> | null, paths: readonly string[]): Record<string, Value> | null {
  return values && mapPaths(values, paths, () => REDACTED);
}

export function isSecretPath(path: string, paths: readonly string[]): boolean {
  return paths.some((secret) => path === secret || path.startsWith(`${secret}.`) || secret.startsWith(`${path}.`));
}

/** A drifted object's changed fields, with those at its secret paths redacted. */
export function redactedFields(drift: Drift, kinds: ReadonlyMap<string, KindInfo>): Drift["fields"] {
  const paths = secretPaths(kinds.get(drift.kind), drift.secretPaths);
  if (paths.length === 0) return drift.fields;
  return drift.fields.map((f) => (isSecretPath(f.path, paths) ? { ...f, before: REDACTED, after: REDACTED } : f));
}
