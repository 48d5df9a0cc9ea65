// The one pure decision of the engine: given what state says and what the program wants, what
// happens to this resource and why. Table-tested in test/engine/plan-resource.test.ts.
import type { ChangeBehaviour, KindInfo, ReplaceOrder, ResourceState, Value } from "../core/model.ts";
import { changedFields } from "../core/values.ts";

export type Action = "noop" | "create" | "update" | "update-with-restart" | "replace" | "delete";

/** Why an action was chosen; closed so tools can match on it, with text for people. */
export type Reason =
  | "unchanged"
  | "not-in-state"
  | "not-in-program"
  | "in-place-fields-changed"
  | "restart-fields-changed"
  | "replace-fields-changed"
  | "replace-requested"
  /** Left out of a `--target` plan: whatever the program asks of it waits for a full plan. */
  | "not-targeted";

export interface PlannedField {
  path: string;
  before: Value | undefined;
  /** May be UNKNOWN: known after apply. */
  after: Value | undefined;
  behaviour: ChangeBehaviour;
}

export interface ResourceDecision {
  action: Action;
  reason: Reason;
  /** The fields behind the decision (changed inputs for updates and replaces). */
  fields: PlannedField[];
  replaceOrder?: ReplaceOrder;
}

export interface DesiredInputs {
  /** Inputs with references resolved; unresolvable ones are UNKNOWN. */
  inputs: Record<string, Value>;
}

export interface DecisionOptions {
  /** `--replace ADDRESS`: replace even when nothing changed. */
  forceReplace?: boolean;
  ignoreChanges?: readonly string[];
  replaceOnChanges?: readonly string[];
  deleteBeforeReplace?: boolean;
}

/** "hosts" covers "hosts" and "hosts.count". */
export function pathCovered(path: string, by: readonly string[] | undefined): boolean {
  return !!by?.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

const SEVERITY: Record<ChangeBehaviour, number> = { "in-place": 0, restart: 1, replace: 2 };

export function planResource(
  prior: Pick<ResourceState, "inputs"> | undefined,
  desired: DesiredInputs | undefined,
  kind: KindInfo,
  options: DecisionOptions = {},
): ResourceDecision {
  if (!prior && !desired) throw new Error("planResource needs a prior state or a desired resource");
  if (!prior) return { action: "create", reason: "not-in-state", fields: [] };
  if (!desired) return { action: "delete", reason: "not-in-program", fields: [] };

  // An unknown value differs from every known one; in a replace field that means a replacement,
  // which is what the value's producer being replaced implies.
  const fields: PlannedField[] = changedFields(prior.inputs, desired.inputs)
    .filter((change) => !pathCovered(change.path, options.ignoreChanges))
    .map((change) => ({
      ...change,
      behaviour: pathCovered(change.path, options.replaceOnChanges) ? "replace" : kind.changeBehaviour(change.path),
    }));
  const replaceOrder = options.deleteBeforeReplace ? "delete-before-create" : kind.replaceOrder;
  const worst = fields.reduce<ChangeBehaviour | undefined>(
    (acc, f) => (acc === undefined || SEVERITY[f.behaviour] > SEVERITY[acc] ? f.behaviour : acc),
    undefined,
  );

  if (options.forceReplace) {
    return { action: "replace", reason: "replace-requested", fields, replaceOrder };
  }
  switch (worst) {
    case undefined:
      return { action: "noop", reason: "unchanged", fields: [] };
    case "in-place":
      return { action: "update", reason: "in-place-fields-changed", fields };
    case "restart":
      return { action: "update-with-restart", reason: "restart-fields-changed", fields };
    case "replace":
      return { action: "replace", reason: "replace-fields-changed", fields, replaceOrder };
  }
}

/** A sentence for people: "vcpu, memoryGiB change and need a restart". */
export function describeDecision(decision: ResourceDecision): string {
  const names = (behaviour: ChangeBehaviour) =>
    decision.fields.filter((f) => f.behaviour === behaviour).map((f) => f.path).join(", ");
  switch (decision.reason) {
    case "unchanged":
      return "no changes";
    case "not-in-state":
      return "not yet created";
    case "not-in-program":
      return "no longer in the program";
    case "in-place-fields-changed":
      return `${names("in-place")} can change in place`;
    case "restart-fields-changed":
      return `${names("restart")} change${verbS(decision, "restart")} and need${verbS(decision, "restart")} a restart`;
    case "replace-fields-changed":
      return `${names("replace")} force${verbS(decision, "replace")} replacement`;
    case "replace-requested":
      return "replacement requested with --replace";
    case "not-targeted":
      return "not targeted";
  }
}

/** "s" for a verb whose subject is one field ("vcpu changes"), "" for several. */
function verbS(decision: ResourceDecision, behaviour: ChangeBehaviour): string {
  return decision.fields.filter((f) => f.behaviour === behaviour).length > 1 ? "" : "s";
}
