// Drift goes through redaction like every other value a renderer shows: a drifted object's secret
// fields (its kind's, and those the program marked secret) never leave in clear, before or after.
import type { KindInfo } from "../../core/model.ts";
import type { Drift } from "../refresh.ts";
import { isSecretPath, REDACTED, secretPaths } from "../../core/secret-paths.ts";

/** A drifted object's changed fields, with those at its secret paths redacted. */
export function redactedFields(drift: Drift, kinds: ReadonlyMap<string, KindInfo>): Drift["fields"] {
  const paths = secretPaths(kinds.get(drift.kind), drift.secretPaths);
  if (paths.length === 0) return drift.fields;
  return drift.fields.map((f) => (isSecretPath(f.path, paths) ? { ...f, before: REDACTED, after: REDACTED } : f));
}
