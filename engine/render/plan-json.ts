// The machine-readable plan. `format_version` follows Terraform's rule: a minor bump only adds keys
// (1.1: output_changes, data_loss, diagnostics; 1.2: deferred_changes, for a Pulumi program's
// deferred resources, cli/pulumi/deferred.ts).
import { dataLoss } from "../data-loss.ts";
import { isUnknown, type KindInfo, type Value } from "../../core/model.ts";
import { summarize, type Plan } from "../plan.ts";
import type { Drift } from "../refresh.ts";
import { isSecretPath, redact, REDACTED, secretPaths } from "../../core/secret-paths.ts";
import { redactedFields } from "./redact-drift.ts";

export const PLAN_FORMAT_VERSION = "1.2";

export function planToJson(plan: Plan, kinds: ReadonlyMap<string, KindInfo>, drift: Drift[] = []) {
  return {
    format_version: PLAN_FORMAT_VERSION,
    stack: plan.stack,
    lineage: plan.lineage,
    serial: plan.serial,
    changes: plan.changes
      .filter((c) => c.action !== "noop")
      .map((change) => {
        const kind = secretPaths(kinds.get(change.kind), change.secretPaths);
        const loss = dataLoss(change, kinds.get(change.kind));
        const unknown: string[] = [];
        const after = change.after ? stripUnknown(redact(change.after, kind)!, "", unknown) : null;
        return {
          address: change.address,
          kind: change.kind,
          action: change.action,
          reason: change.reason,
          reason_text: change.reasonText,
          before: redact(change.before, kind),
          after,
          after_unknown: unknown,
          fields: change.fields.map((f) => ({
            path: f.path,
            behaviour: f.behaviour,
            before: isSecretPath(f.path, kind) ? REDACTED : (f.before ?? null),
            after: isSecretPath(f.path, kind) ? REDACTED : isUnknown(f.after) ? null : (f.after ?? null),
            after_unknown: isUnknown(f.after),
          })),
          ...(loss ? { data_loss: loss } : {}),
          ...(change.deposedId ? { deposed: change.deposedId } : {}),
          ...(change.source ? { source: change.source } : {}),
        };
      }),
    resource_drift: drift.map((d) => ({
      address: d.address,
      change: d.change,
      ...(d.reason ? { reason: d.reason } : {}),
      fields: redactedFields(d, kinds).map((f) => ({ path: f.path, before: f.before ?? null, after: f.after ?? null })),
    })),
    // Keyed by output name, as Terraform's output_changes is.
    output_changes: Object.fromEntries(
      (plan.outputChanges ?? []).map((c) => [
        c.name,
        {
          action: c.action,
          before: c.before ?? null,
          after: c.after === undefined || isUnknown(c.after) ? null : stripUnknown(c.after, "", []),
          after_unknown: c.after !== undefined && isUnknown(c.after),
          sensitive: c.secret,
        },
      ]),
    ),
    summary: summarize(plan),
  };
}

/** Unknown values become null in `after`, and their paths are listed in `after_unknown`. */
function stripUnknown(value: Value, path: string, unknown: string[]): Value {
  if (isUnknown(value)) {
    unknown.push(path);
    return null;
  }
  if (Array.isArray(value)) return value.map((v, i) => stripUnknown(v, `${path}[${i}]`, unknown));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripUnknown(v, path ? `${path}.${k}` : k, unknown)]));
  }
  return value;
}
