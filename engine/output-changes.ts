// Changes to the stack's outputs, as Terraform's "Changes to Outputs:" shows them: an output the
// plan adds (+), changes (~) or removes (-). A value known only after apply is UNKNOWN. The secret
// parts of an output carry no value here at all (the plan may be saved to a file): only REDACTED.
import { isSecretPath, redact } from "../core/secret-paths.ts";
import type { Value } from "../core/model.ts";
import { deepEqual } from "../core/values.ts";

export interface OutputChange {
  name: string;
  action: "create" | "update" | "delete";
  /** Absent when the output is new. */
  before?: Value;
  /** Absent when the output goes; UNKNOWN when apply decides it. */
  after?: Value;
  /** Whether the output holds a secret, whole or in part. */
  secret: boolean;
}

/** `secretPaths`: output paths that hold secrets, before or after ("db.password" makes db secret). */
export function diffOutputs(
  before: Record<string, Value>,
  after: Record<string, Value>,
  secretPaths: readonly string[],
): OutputChange[] {
  const changes: OutputChange[] = [];
  const shown = (name: string, value: Value) => redact({ [name]: value }, secretPaths)![name]!;
  for (const [name, value] of Object.entries(after)) {
    const secret = isSecretPath(name, secretPaths);
    if (!Object.hasOwn(before, name)) changes.push({ name, action: "create", after: shown(name, value), secret });
    else if (!deepEqual(before[name], value)) changes.push({ name, action: "update", before: shown(name, before[name]!), after: shown(name, value), secret });
  }
  for (const [name, value] of Object.entries(before)) {
    if (!Object.hasOwn(after, name)) changes.push({ name, action: "delete", before: shown(name, value), secret: isSecretPath(name, secretPaths) });
  }
  return changes;
}
