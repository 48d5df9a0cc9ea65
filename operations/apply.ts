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
  /**
   * A program known in passes whose later pass was refused, declined or failed before its steps:
   * why (the pass's diagnostics are in `diagnostics`); `result` holds what the earlier passes did,
   * marked not ok.
   */
  stopped?: { pass: number; error?: unknown };
}

/** `apply` (and, by its options, `destroy` and `refresh`). */
export async function apply(context: OperationContext, program: DesiredProgram, options: ApplyOptions): Promise<Applied> {
  checkParallelism(options.parallelism);
  refuseUnsealedSecrets(program, options);
  return withLock(context, options.destroy ? "destroy" : "apply", options.lockTimeoutMs ?? 0, async () => {
    const results: StepResult[] = [];
    // What was asked to be replaced is replaced once, in the pass that plans it.
    const replace = new Set(options.replace ?? []);
    let done: Applied | undefined; // what the passes so far carried out
    for (let pass: DesiredProgram | undefined = program, n = 1; ; n++) {
      let planned: Planned;
      try {
        // A later pass knows resources the first did not (a deferred Instance's userData).
        if (done) refuseUnsealedSecrets(pass, options);
        // Later passes plan against the state the earlier ones refreshed and recorded.
        planned = await planLocked(context, pass, done ? { ...options, refresh: false, replace: [...replace] } : options);
        if (rejected(planned)) {
          if (!done) return planned;
          return { ...done, diagnostics: planned.diagnostics, result: { ...done.result!, ok: false }, stopped: { pass: n } };
        }
        await options.approve(planned);
      } catch (err) {
        if (!done) throw err;
        return { ...done, result: { ...done.result!, ok: false }, stopped: { pass: n, error: err } };
      }
      for (const change of planned.plan.changes) if (change.action !== "noop") replace.delete(change.address);
      const result = await carryOut(context, planned, options);
      results.push(...result.results);
      done = { ...planned, result: { ...result, results: [...results] } };
      if (!result.ok || options.signal?.aborted || !options.nextPass) return done;
      pass = await options.nextPass(done as Applied & { result: ApplyResult });
      if (!pass) return done;
    }
  });
}

/** Without a passphrase, a program holding secret values is refused before anything changes. */
function refuseUnsealedSecrets(program: DesiredProgram, options: ApplyOptions): void {
  if (options.destroy || options.encryptsSecrets) return;
  const holding = secretHolders(program);
  if (holding.length > 0) {
    throw new OperationError(
      "secrets-need-passphrase",
      `${holding.join(", ")} ${holding.length === 1 ? "holds" : "hold"} secret values, which state keeps encrypted: set VIRTFORM_PASSPHRASE`,
    );
  }
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
  const provider = await providerOf(context);
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
