// The plan operation, and the planning every operation that changes something starts with: load
// state, settle what a killed run left in flight, refresh from the backend, plan, check for lost
// objects, and rehearse the plan on a copy of the backend (capacity before and after). It returns
// everything a renderer shows; it prints nothing.
import type { Diagnostic, Reference, Value } from "../core/model.ts";
import { containsUnknown } from "../core/values.ts";
import { makePlan, type Plan } from "../engine/plan.ts";
import type { Provider } from "../engine/provider.ts";
import { recoverPending } from "../engine/recover.ts";
import { checkLostObjects, unrecordedObjects } from "../engine/lost-objects.ts";
import { refreshState, unhealthyProblems, type Drift } from "../engine/refresh.ts";
import { rehearsePlan } from "../engine/rehearse.ts";
import { capacityChanges, ownRows, type CapacityChange } from "../engine/render/capacity.ts";
import { applyRecord, forkState, type State, type StateRecord } from "../engine/state.ts";
import { kindInfo } from "../sdk/kinds/index.ts";
import { emit, isError, providerOf, withLock, type DesiredProgram, type OperationContext } from "./context.ts";
import { OperationError } from "./operation-error.ts";
import { checkStateKinds } from "./state-check.ts";

export interface PlanOptions {
  /** false: trust state as it is (`--no-refresh`). */
  refresh?: boolean;
  /** Only bring state up to date with the backend: the plan changes no resource. */
  refreshOnly?: boolean;
  destroy?: boolean;
  targets?: string[];
  replace?: string[];
  /** Create resources even where the backend holds objects of the stack that state lost. */
  allowDuplicates?: boolean;
  lockTimeoutMs?: number;
  /** Sees the plan and the state it was made against before the rehearsal (review reads what would be wiped). */
  inspect?: (plan: Plan, state: State, provider: Provider) => Promise<void>;
  /**
   * A program known in passes (see DesiredProgram.partial): given a pass's plan, the program of the
   * next pass, planned under the same lock; undefined when that plan is the last.
   */
  nextPass?: (planned: Planned) => Promise<DesiredProgram | undefined>;
}

export interface Planned {
  /** State as persisted, recovery applied; the refresh is not yet in it. */
  state: State;
  /** What the refresh observed, recorded by an apply before its steps. */
  refreshRecords: StateRecord[];
  drift: Drift[];
  plan: Plan;
  /** Used / usable per cluster and pool, before and after the plan (rows that change). */
  capacity: CapacityChange[];
  /** Warnings about how the plan was asked for, then the problems that keep it from being applied. */
  diagnostics: Diagnostic[];
}

/** The plan cannot be applied: a problem the rehearsal or the refresh found. */
export const rejected = (planned: Planned): boolean => planned.diagnostics.some(isError);

/** Warnings about how the plan was asked for, whatever the plan holds. */
export function requestWarnings(options: Pick<PlanOptions, "targets">): Diagnostic[] {
  if (!options.targets?.length) return [];
  return [
    {
      severity: "warning",
      message:
        "--target is in effect: the plan is incomplete. It covers only the targeted resources and what they depend on; " +
        "other changes the program asks for are left out. Use it for exceptional cases, then run plan without --target.",
    },
  ];
}

/** `plan`: holds the stack's lock while it plans, and lets it go. */
export async function plan(context: OperationContext, program: DesiredProgram, options: PlanOptions = {}): Promise<Planned> {
  return withLock(context, "plan", options.lockTimeoutMs ?? 0, async () => {
    let planned = await planLocked(context, program, options);
    for (let next = rejected(planned) ? undefined : await options.nextPass?.(planned); next; next = rejected(planned) ? undefined : await options.nextPass?.(planned)) {
      planned = await planLocked(context, next, options);
    }
    return planned;
  });
}

/** Planning, for an operation that holds the lock. */
export async function planLocked(context: OperationContext, program: DesiredProgram, options: Omit<PlanOptions, "nextPass">): Promise<Planned> {
  const { store } = context;
  // State first: a state that cannot be read is the error to report, whatever the backend says.
  const state = checkStateKinds(await store.load(), store.path);
  const provider = await providerOf(context);
  for (const recovered of await recoverPending(state, provider, store)) emit(context, { type: "recovered", recovered });
  const { drift, records } = options.refresh === false ? { drift: [], records: [] } : await refreshState(state, provider);
  const planState = forkState(state);
  for (const record of records) applyRecord(planState, record);
  planState.serial = state.serial; // the plan is made against the persisted serial
  // A refresh changes no resource: its plan is empty (not a plan against an empty program, which a
  // protected resource in state would refuse as a deletion).
  const plan: Plan = options.refreshOnly
    ? { stack: planState.stack, lineage: planState.lineage, serial: planState.serial, changes: [], outputs: program.outputs, outputChanges: [] }
    : makePlan(planState, program.resources, program.partial ? knownOutputs(program.outputs, planState.outputs) : program.outputs, {
        kinds: kindInfo,
        destroy: options.destroy ?? false,
        replace: options.replace ?? [],
        targets: program.partial ? partialTargets(program.partial, options.targets ?? []) : (options.targets ?? []),
        secretOutputs: program.partial ? keptSecretOutputs(program, planState.secretOutputs ?? []) : program.secretOutputs,
      });
  await options.inspect?.(plan, planState, provider);
  const lost = checkLostObjects(planState, plan, await unrecordedObjects(planState, provider), options.allowDuplicates ?? false);
  if (lost.refuse) throw new OperationError("lost-objects", lost.refuse);
  if (lost.warn) emit(context, { type: "warning", message: lost.warn });
  // Capacity before and after is shown for a plan that changes something; a no-op plan skips it.
  const changing = plan.changes.some((c) => c.action !== "noop");
  const capacityBefore = changing ? ownRows((await provider.capacity?.()) ?? [], planState) : [];
  let capacityAfter = capacityBefore;
  const problems = await rehearsePlan(plan, planState, provider, async (rehearsed, rehearsedState) => {
    if (changing) capacityAfter = ownRows((await rehearsed.capacity?.()) ?? capacityBefore, rehearsedState);
  });
  if (!options.refreshOnly) problems.push(...unhealthyProblems(drift, plan));
  const capacity = capacityChanges(capacityBefore, capacityAfter, problems.length > 0);
  return { state, refreshRecords: records, drift, plan, capacity, diagnostics: [...requestWarnings(options), ...problems] };
}

/** A partial program's targets: its known addresses, or those of `--target` among them. */
function partialTargets(known: string[], targets: readonly string[]): string[] {
  if (known.length === 0) throw new OperationError("bad-option", "a partial program must name the resources it knows");
  if (targets.length === 0) return known;
  const kept = targets.filter((t) => known.some((a) => a === t || a.startsWith(`${t}[`)));
  if (kept.length === 0) throw new OperationError("bad-option", `--target ${targets.join(", ")}: known only after apply (deferred); apply without --target first`);
  return kept;
}

/** Outputs a partial program cannot compute yet (UNKNOWN) keep their recorded values; new ones wait. */
/**
 * A partial program's secret outputs, with those it does not know yet and keeps as recorded: a value
 * recorded sealed stays sealed (the program cannot say so while the output is unknown).
 */
function keptSecretOutputs(program: DesiredProgram, recorded: readonly string[]): string[] {
  const kept = recorded.filter((name) => Object.hasOwn(program.outputs, name) && containsUnknown(program.outputs[name]));
  return [...new Set([...program.secretOutputs, ...kept])];
}

function knownOutputs(outputs: Record<string, Value | Reference>, recorded: Record<string, Value>): Record<string, Value | Reference> {
  const kept: Record<string, Value | Reference> = {};
  for (const [name, value] of Object.entries(outputs)) {
    if (!containsUnknown(value)) kept[name] = value;
    else if (Object.hasOwn(recorded, name)) kept[name] = recorded[name]!;
  }
  return kept;
}
