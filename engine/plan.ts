// Builds the plan: every desired resource and every resource in state gets a decision, references
// are resolved against what state already knows, and anything not knowable yet is UNKNOWN.
import { CycleError, topologicalOrder } from "./graph.ts";
import {
  DiagnosticsError,
  UNKNOWN,
  type DesiredResource,
  type Diagnostic,
  type KindInfo,
  type Reference,
  type ReplaceOrder,
  type SourceLocation,
  type Value,
} from "../core/model.ts";
import type { LifecycleOptions } from "../core/lifecycle-options.ts";
import { diffOutputs, type OutputChange } from "./output-changes.ts";
import { describeDecision, planResource, type Action, type PlannedField, type Reason } from "./plan-resource.ts";
import type { State } from "./state.ts";
import { getPath, resolveReferences } from "../core/values.ts";

export interface ResourceChange {
  address: string;
  kind: string;
  action: Action;
  reason: Reason;
  reasonText: string;
  fields: PlannedField[];
  /** Inputs as recorded in state (null when creating). */
  before: Record<string, Value> | null;
  /** Desired inputs with references resolved as far as the plan can (null when deleting). */
  after: Record<string, Value> | null;
  /** Desired inputs with references still in place; apply resolves them once they are known. */
  template?: Record<string, Value>;
  /** Dependencies in the program (for create/update ordering). */
  dependsOn: string[];
  /** Dependencies recorded in state (for delete ordering). */
  priorDependsOn: string[];
  replaceOrder?: ReplaceOrder;
  /** Input paths wrapped with secret() in the program (or recorded in state, for deletes). */
  secretPaths?: string[];
  /** Lifecycle options from the program (deletes use those recorded in state). */
  options?: LifecycleOptions;
  /** Set for leftovers of an interrupted create-before-delete replacement. */
  deposedId?: string;
  source?: SourceLocation;
}

export interface Plan {
  stack: string;
  lineage: string;
  serial: number;
  changes: ResourceChange[];
  /** Stack outputs as the program declares them (may hold references). */
  outputs: Record<string, Value | Reference>;
  /** Paths of outputs that hold secrets. */
  secretOutputs?: string[];
  /** How the recorded outputs change (absent in plans saved before it existed). */
  outputChanges?: OutputChange[];
}

export interface PlanOptions {
  kinds: ReadonlyMap<string, KindInfo>;
  /** Addresses to replace even if unchanged (`--replace`). */
  replace?: readonly string[];
  /** Plan to delete everything in state. */
  destroy?: boolean;
  /** `--target`: plan only these addresses and what they depend on. */
  targets?: readonly string[];
  /** Paths of outputs that hold secrets (from the program). */
  secretOutputs?: readonly string[];
}

export function makePlan(
  state: State,
  desired: readonly DesiredResource[],
  outputs: Record<string, Value | Reference>,
  options: PlanOptions,
): Plan {
  const wanted = options.destroy ? [] : desired;
  const byAddress = new Map(wanted.map((r) => [r.address, r]));
  let order: string[];
  try {
    order = topologicalOrder(wanted);
  } catch (err) {
    if (err instanceof CycleError) {
      const first = byAddress.get(err.cycle[0]!);
      throw new DiagnosticsError([
        { severity: "error", message: err.message, address: err.cycle[0], source: first?.source },
      ]);
    }
    throw err;
  }

  const diagnostics: Diagnostic[] = [];
  const changes: ResourceChange[] = [];
  const decided = new Map<string, ResourceChange>();
  const replace = new Set(options.replace ?? []);

  for (const address of order) {
    const resource = byAddress.get(address)!;
    const kind = kindOf(options.kinds, resource.kind);
    const prior = state.resources[address];
    // A resource whose kind changed is a different object: delete the old, create the new.
    const samePrior = prior && prior.kind === resource.kind ? prior : undefined;
    if (prior && !samePrior) changes.push(deletion(address, prior, state));
    const lifecycle = resource.options;
    // Ignored fields keep the value they were applied with.
    const template = samePrior ? keepIgnored(resource.inputs, samePrior.inputs, lifecycle.ignoreChanges) : resource.inputs;
    const inputs = resolveReferences(template, (ref) => plannedValue(ref, state, decided)) as Record<string, Value>;
    const decision = planResource(samePrior, { inputs }, kind, {
      forceReplace: replace.has(address) && !!samePrior,
      ignoreChanges: lifecycle.ignoreChanges,
      replaceOnChanges: lifecycle.replaceOnChanges,
      deleteBeforeReplace: lifecycle.deleteBeforeReplace,
    });
    const change: ResourceChange = {
      address,
      kind: resource.kind,
      action: decision.action,
      reason: decision.reason,
      reasonText: describeDecision(decision),
      fields: decision.fields,
      before: samePrior?.inputs ?? null,
      after: inputs,
      template: template as Record<string, Value>,
      ...(resource.secretPaths?.length ? { secretPaths: resource.secretPaths } : {}),
      options: lifecycle,
      dependsOn: resource.dependsOn,
      priorDependsOn: samePrior?.dependsOn ?? [],
      replaceOrder: decision.replaceOrder,
      source: resource.source,
    };
    decided.set(address, change);
    changes.push(change);
  }

  // Show changes in program order (the walker orders the work itself).
  const position = new Map(wanted.map((r, i) => [r.address, i]));
  changes.sort((a, b) => (position.get(a.address) ?? Infinity) - (position.get(b.address) ?? Infinity));
  for (const [address, prior] of Object.entries(state.resources)) {
    if (!byAddress.has(address)) changes.push(deletion(address, prior, state));
  }
  for (const deposed of state.deposed) {
    changes.push({ ...deletion(deposed.address, deposed, state), deposedId: deposed.id });
  }
  if (options.targets && options.targets.length > 0) {
    const targeted = targetClosure(options.targets, byAddress, state, diagnostics, options.destroy ?? false);
    for (const change of changes) {
      if (!targeted.has(change.address)) Object.assign(change, { action: "noop", reason: "not-targeted", reasonText: describeDecision({ action: "noop", reason: "not-targeted", fields: [] }), fields: [] });
    }
  }
  // After targeting: protection refuses only what this plan would really delete or replace.
  for (const change of changes) diagnostics.push(...protectionProblems(change, state, options.destroy ?? false));
  if (diagnostics.length > 0) throw new DiagnosticsError(diagnostics);

  const secretOutputs = options.destroy ? [] : (options.secretOutputs ?? []).filter((path) => path.split(".")[0]! in outputs);
  // Outputs as they will be after apply, as far as the plan knows them.
  const plannedOutputs = options.destroy ? {} : (resolveReferences(outputs, (ref) => plannedValue(ref, state, decided)) as Record<string, Value>);
  const outputChanges = diffOutputs(state.outputs, plannedOutputs, [...secretOutputs, ...(state.secretOutputs ?? [])]);
  return {
    stack: state.stack,
    lineage: state.lineage,
    serial: state.serial,
    changes,
    outputs: options.destroy ? {} : outputs,
    ...(secretOutputs.length > 0 ? { secretOutputs } : {}),
    outputChanges,
  };
}

/** A protected resource's own deletion or replacement is refused; nothing else is. */
export function protectionProblems(change: ResourceChange, state: State, destroy: boolean): Diagnostic[] {
  if (change.action !== "replace" && change.action !== "delete") return []; // most changes: nothing to look up
  const prior = state.resources[change.address];
  const where = { severity: "error" as const, address: change.address, ...(change.source ? { source: change.source } : {}) };
  if (change.action === "replace" && (change.options?.protect || prior?.options?.protect)) {
    return [{ ...where, message: `resource is protected and cannot be replaced (${change.reasonText}); remove protect to allow it` }];
  }
  if (change.action === "delete" && !change.deposedId && prior?.options?.protect) {
    const message = destroy
      ? `destroy would delete protected ${change.address}; set protect: false and apply before destroying it`
      : `resource is protected and cannot be deleted (${change.reasonText}); set protect: false and apply before removing it`;
    return [{ ...where, message }];
  }
  return [];
}

/**
 * The targets and everything they depend on in the program. A destroy deletes what depends on a
 * target too (from state), as Terraform's `destroy -target` does: nothing is left pointing at a
 * deleted object.
 */
function targetClosure(
  targets: readonly string[],
  desired: Map<string, DesiredResource>,
  state: State,
  diagnostics: Diagnostic[],
  destroy: boolean,
): Set<string> {
  const closure = new Set<string>();
  const dependents = new Map<string, string[]>();
  if (destroy) {
    for (const [address, resource] of Object.entries(state.resources)) {
      for (const dep of resource.dependsOn) dependents.set(dep, [...(dependents.get(dep) ?? []), address]);
    }
  }
  const visit = (address: string) => {
    if (closure.has(address)) return;
    closure.add(address);
    for (const dep of desired.get(address)?.dependsOn ?? []) visit(dep);
    for (const dependent of dependents.get(address) ?? []) visit(dependent);
  };
  for (const target of targets) {
    // "instances.web/app" targets every member of the group.
    const matches = [...desired.keys(), ...Object.keys(state.resources)].filter(
      (a) => a === target || a.startsWith(`${target}[`),
    );
    if (matches.length === 0) diagnostics.push({ severity: "error", address: target, message: "--target names no resource in the program or in state" });
    matches.forEach(visit);
  }
  return closure;
}

function keepIgnored(
  inputs: Record<string, Value>,
  applied: Record<string, Value>,
  ignore: readonly string[] | undefined,
): Record<string, Value> {
  if (!ignore || ignore.length === 0) return inputs;
  const copy = structuredClone(inputs);
  for (const path of ignore) {
    const parts = path.split(".");
    let from: Value | undefined = applied;
    let to: Record<string, Value> = copy;
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      const value: Value | undefined = typeof from === "object" && from !== null && !Array.isArray(from) ? from[part] : undefined;
      if (last) {
        if (value === undefined) delete to[part];
        else to[part] = structuredClone(value);
      } else {
        if (typeof to[part] !== "object" || to[part] === null || Array.isArray(to[part])) to[part] = {};
        to = to[part] as Record<string, Value>;
        from = value;
      }
    }
  }
  return copy;
}

function deletion(address: string, prior: State["resources"][string], state: State): ResourceChange {
  return {
    address,
    kind: prior.kind,
    action: "delete",
    reason: "not-in-program",
    reasonText: state.resources[address] === prior ? "no longer in the program" : "left over from an interrupted replacement",
    fields: [],
    before: prior.inputs,
    after: null,
    dependsOn: [],
    priorDependsOn: prior.dependsOn,
    source: prior.source,
    ...(prior.options ? { options: prior.options } : {}),
    ...(prior.secretPaths ? { secretPaths: prior.secretPaths } : {}),
  };
}

/**
 * What a reference resolves to at plan time. An id survives in-place updates; everything of a
 * resource being created or replaced, and non-id outputs of one being updated, is known only after
 * apply.
 */
function plannedValue(ref: Reference, state: State, decided: Map<string, ResourceChange>): Value {
  const target = decided.get(ref.$ref);
  const prior = state.resources[ref.$ref];
  if (!target || !prior || target.action === "create" || target.action === "replace") return UNKNOWN;
  if (ref.path === "id") return prior.id;
  if (target.action !== "noop") return UNKNOWN;
  return (getPath(prior.outputs, ref.path) as Value | undefined) ?? null;
}

export function kindOf(kinds: ReadonlyMap<string, KindInfo>, name: string): KindInfo {
  const kind = kinds.get(name);
  if (!kind) throw new Error(`unknown resource kind ${name}`);
  return kind;
}

export interface PlanSummary {
  create: number;
  update: number;
  replace: number;
  delete: number;
  unchanged: number;
}

export function summarize(plan: Plan): PlanSummary {
  const summary: PlanSummary = { create: 0, update: 0, replace: 0, delete: 0, unchanged: 0 };
  for (const change of plan.changes) {
    if (change.action === "noop") summary.unchanged++;
    else if (change.action === "update-with-restart") summary.update++;
    else summary[change.action]++;
  }
  return summary;
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== "noop");
}
