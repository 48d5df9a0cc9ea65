// apply, destroy and refresh: plan under the stack's lock, let the caller approve the plan (the CLI
// shows it and asks), then carry it out, recording the refresh first. A saved plan (`plan --out`)
// is applied as it was reviewed, once it is known not to be stale.
import { applyPlan, type ApplyResult, type StepResult } from "../engine/apply.ts";
import { checkNotStale, type SavedPlan } from "../engine/saved-plan.ts";
import { getPath } from "../core/values.ts";
import { secretPathsOf } from "../sdk/kinds/index.ts";
import { providerOf, stepEvents, withLock, type DesiredProgram, type OperationContext } from "./context.ts";
import { OperationError } from "./operation-error.ts";
import { planLocked, rejected, type Planned, type PlanOptions } from "./plan.ts";
import { checkStateKinds } from "./state-check.ts";

export interface CarryOutOptions {
  parallelism?: number;
  /** At most this many steps of a kind at once. */
  kindParallelism?: Record<string, number>;
  /** Aborted (Ctrl-C): no new step starts; steps in flight finish and are recorded. */
  signal?: AbortSignal;
  lockTimeoutMs?: number;
  /**
   * Called with an applicable plan before anything changes; throws to stop (a user who says no).
   * Not called for a plan the rehearsal refused. A program known in passes calls it once a pass.
   */
  approve: (planned: Planned) => Promise<void>;
}

export interface ApplyOptions extends Omit<PlanOptions, "nextPass">, CarryOutOptions {
  /**
   * A program known in passes (see DesiredProgram.partial): once a pass is carried out, the program
   * of the next, planned and carried out under the same lock; undefined when that pass was the last.
   */
  nextPass?: (applied: Applied & { result: ApplyResult }) => Promise<DesiredProgram | undefined>;
  /** Whether state keeps secret values encrypted (a passphrase is set); without, a program holding secrets is refused first. */
  encryptsSecrets: boolean;
}

export interface Applied extends Planned {
  /** What the steps did; absent when the plan was refused (`diagnostics` says why). */
  result?: ApplyResult;
}

/** `apply` (and, by its options, `destroy` and `refresh`). */
export async function apply(context: OperationContext, program: DesiredProgram, options: ApplyOptions): Promise<Applied> {
  checkParallelism(options.parallelism);
  if (!options.destroy && !options.encryptsSecrets) {
    const holding = secretHolders(program);
    if (holding.length > 0) {
      throw new OperationError(
        "secrets-need-passphrase",
        `${holding.join(", ")} ${holding.length === 1 ? "holds" : "hold"} secret values, which state keeps encrypted: set VIRTFORM_PASSPHRASE`,
      );
    }
  }
  return withLock(context, options.destroy ? "destroy" : "apply", options.lockTimeoutMs ?? 0, async () => {
    const results: StepResult[] = [];
    // Later passes plan against the state the earlier ones refreshed and recorded.
    for (let pass: DesiredProgram | undefined = program, first = true; ; first = false) {
      const planned = await planLocked(context, pass, first ? options : { ...options, refresh: false });
      if (rejected(planned)) return planned;
      await options.approve(planned);
      const result = await carryOut(context, planned, options);
      results.push(...result.results);
      const applied = { ...planned, result: { ...result, results: [...results] } };
      if (!result.ok || options.signal?.aborted || !options.nextPass) return applied;
      pass = await options.nextPass(applied);
      if (!pass) return applied;
    }
  });
}

export const destroy = (context: OperationContext, program: DesiredProgram, options: Omit<ApplyOptions, "destroy">) =>
  apply(context, program, { ...options, destroy: true });

export const refresh = (context: OperationContext, program: DesiredProgram, options: Omit<ApplyOptions, "refreshOnly">) =>
  apply(context, program, { ...options, refreshOnly: true });

/** Applies a saved plan exactly as it was made; StalePlanError when state has moved on since. */
export async function applySaved(context: OperationContext, saved: SavedPlan, file: string, options: CarryOutOptions): Promise<Applied> {
  checkParallelism(options.parallelism);
  return withLock(context, "apply", options.lockTimeoutMs ?? 0, async () => {
    const { store } = context;
    const state = checkStateKinds(await store.load(), store.path);
    for (const record of checkNotStale(saved, state, file)) await store.record(state, record);
    const planned: Planned = { state, refreshRecords: saved.refreshRecords, drift: [], plan: saved.plan, capacity: [], diagnostics: [] };
    await options.approve(planned);
    return { ...planned, result: await carryOut(context, planned, options) };
  });
}

/** Records the refresh, then runs the plan's steps; state is committed at the end. */
async function carryOut(context: OperationContext, planned: Planned, options: CarryOutOptions): Promise<ApplyResult> {
  const { store } = context;
  const provider = providerOf(context);
  const { state, plan } = planned;
  for (const record of planned.refreshRecords) await store.record(state, record);
  return applyPlan(plan, state, provider, store, {
    parallelism: options.parallelism ?? 10,
    kindParallelism: options.kindParallelism ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
    hooks: stepEvents(context),
  });
}

function checkParallelism(parallelism: number | undefined): void {
  if (parallelism !== undefined && (!Number.isInteger(parallelism) || parallelism < 1)) {
    throw new OperationError("bad-option", `parallelism must be a positive whole number, got ${parallelism}`);
  }
}

/** Resources and outputs of the program that hold secret values. */
export function secretHolders(program: DesiredProgram): string[] {
  return [
    ...program.resources.filter((r) => secretPathsOf(r.kind, r.secretPaths).some((p) => getPath(r.inputs, p) != null)).map((r) => r.address),
    ...program.secretOutputs.map((name) => `output ${name}`),
  ];
}
