// plan, apply, destroy and refresh. Each holds the stack's state lock from start to end: load
// state, settle what a killed run left in flight, refresh from the backend, plan, rehearse the plan
// on a copy of the backend; then (apply, destroy) confirm and carry it out.
import { createInterface } from "node:readline/promises";
import { applyPlan, CANCELLED, type StepResult } from "../../engine/apply.ts";
import { DiagnosticsError, formatDiagnostic, type DesiredResource, type Diagnostic, type Value } from "../../engine/model.ts";
import { hasChanges, makePlan, summarize, type Plan } from "../../engine/plan.ts";
import type { Provider } from "../../engine/provider.ts";
import { recoverPending } from "../../engine/recover.ts";
import { checkLostObjects, unrecordedObjects } from "../../engine/lost-objects.ts";
import { refreshState, unhealthyProblems, type Drift } from "../../engine/refresh.ts";
import { rehearsePlan } from "../../engine/rehearse.ts";
import { diagnosticsToJson } from "../../engine/render/diagnostics-json.ts";
import { PLAN_FORMAT_VERSION, planToJson } from "../../engine/render/plan-json.ts";
import { renderPlanMarkdown } from "../../engine/render/plan-markdown.ts";
import { capacityChanges, ownRows, renderCapacityText, type CapacityChange } from "../../engine/render/capacity.ts";
import { renderDriftText, renderPlanText } from "../../engine/render/plan-text.ts";
import { checkNotStale, planHoldsSecrets, readSavedPlan, StalePlanError, writeSavedPlan, type SavedPlan } from "../../engine/saved-plan.ts";
import { applyRecord, forkState, type State, type StateRecord, type StateStore } from "../../engine/state.ts";
import { kindInfo, secretPathsOf } from "../../sdk/kinds/index.ts";
import { isSecretPath, redact, REDACTED } from "../../engine/render/redact.ts";
import { getPath } from "../../engine/values.ts";
import { CliError } from "../cli-error.ts";
import { parseDuration } from "../duration.ts";
import { withArticle } from "../../engine/render/article.ts";
import type { LoadOptions } from "../program.ts";
import { runProgram } from "../program-runner.ts";
import { checkStateKinds } from "../state-check.ts";
import { projectStackName, pulumiProjectDir } from "../pulumi/project.ts";
import { loadPulumi } from "../pulumi/load-lazily.ts";
import { renderComponentsText } from "../pulumi/components.ts";
import type { EvaluatedStack } from "../../sdk/evaluate.ts";
import { ApplyProgress } from "../progress.ts";
import { stateCipher, Workspace } from "../workspace.ts";

export interface RunOptions {
  refresh?: boolean; // commander's --no-refresh sets false
  refreshOnly?: boolean;
  target?: string[];
  replace?: string[];
  lockTimeout?: string;
  stack?: string;
  /** Create resources even where the backend holds objects of the stack that state lost. */
  allowDuplicates?: boolean;
  /** Packages files to resolve image variants the lock does not answer against. */
  packages?: string[];
  allowUnlocked?: boolean;
  /** Run a Pulumi program: true (the program argument, or ".") or its project directory. */
  pulumi?: string | boolean;
}

export interface PlanCommandOptions extends RunOptions {
  json?: boolean;
  markdown?: boolean;
  out?: string;
  detailedExitcode?: boolean;
}

export interface ApplyCommandOptions extends RunOptions {
  yes?: boolean;
  parallelism?: string;
  kindParallelism?: string[];
  destroy?: boolean;
}

interface Session {
  workspace: Workspace;
  stack: string;
  store: StateStore;
  provider: Provider;
  /** State as persisted (recovery applied); the refresh is not yet in it. */
  state: State;
  refreshRecords: StateRecord[];
  drift: Drift[];
  plan: Plan;
  program: string;
  /** Used / usable per cluster and pool, before and after the plan (rows that change). */
  capacity: CapacityChange[];
}

/** A plan the rehearsal refused. What was planned comes along: the capacity it reached explains why. */
class PlanRejectedError extends DiagnosticsError {
  readonly plan: Plan;
  readonly drift: Drift[];
  readonly capacity: CapacityChange[];

  constructor(problems: Diagnostic[], plan: Plan, drift: Drift[], capacity: CapacityChange[]) {
    super(problems, `the plan cannot be applied: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    this.plan = plan;
    this.drift = drift;
    this.capacity = capacity;
  }
}

/** Warnings about how the plan was asked for, shown whatever the plan holds. */
function warningsFor(options: RunOptions): Diagnostic[] {
  if (!options.target?.length) return [];
  return [
    {
      severity: "warning",
      message:
        "--target is in effect: the plan is incomplete. It covers only the targeted resources and what they depend on; " +
        "other changes the program asks for are left out. Use it for exceptional cases, then run plan without --target.",
    },
  ];
}

const withBreak = (text: string) => (text ? `\n${text}` : "");
const color = () => process.stdout.isTTY === true && !process.env.NO_COLOR;
const out = (text: string) => process.stdout.write(text);

/** "30s", "2m", "500ms" or plain seconds. */
/**
 * How images are resolved for this run: destroy deletes whatever they resolve to, so it needs no
 * catalog; refresh only reads the backend, so unlocked variants do not stop it.
 */
function imageLoadOptions(options: RunOptions & { destroy?: boolean }): LoadOptions {
  if (options.destroy) return { locks: false };
  return { ...(options.packages ? { packages: options.packages } : {}), allowUnlocked: options.allowUnlocked === true || options.refreshOnly === true };
}

async function withSession<T>(
  programPath: string,
  operation: string,
  options: RunOptions & { destroy?: boolean; json?: boolean; markdown?: boolean; onPlan?: (plan: Plan, state: State, provider: Provider) => Promise<void> },
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const workspace = new Workspace();
  let stack: string;
  let resources: DesiredResource[] = [];
  let outputs: Record<string, Value> = {};
  let secretOutputs: string[] = [];
  let programMissing = false;
  for (const warning of warningsFor(options)) process.stderr.write(`Warning: ${formatDiagnostic(warning)}\n`);
  const pulumiDir = pulumiProjectDir(programPath, options.pulumi);
  if (pulumiDir && options.destroy) {
    // As `pulumi destroy`: the program is not run, state says what there is.
    stack = projectStackName(pulumiDir, options.stack);
  } else if (options.destroy && options.stack) {
    stack = options.stack;
  } else {
    const load = pulumiDir ? loadPulumi(pulumiDir, { ...options, ...imageLoadOptions(options) }) : runProgram(programPath, imageLoadOptions(options));
    const program: EvaluatedStack | undefined = await load.catch((err: unknown) => {
      // destroy works from state alone when the program is gone
      if (options.destroy && err instanceof CliError && err.message.includes("not found")) {
        programMissing = true;
        return undefined;
      }
      throw err;
    });
    stack = program ? program.name : workspace.pickStack(undefined);
    if (program && "parents" in program && !options.json && !options.markdown) out(renderComponentsText(program.parents as Record<string, string[]>));
    resources = program?.resources ?? [];
    if (operation === "apply" && !process.env.VIRTFORM_PASSPHRASE) {
      const holding = [
        ...resources.filter((r) => secretPathsOf(r.kind, r.secretPaths).some((p) => getPath(r.inputs, p) != null)).map((r) => r.address),
        ...(program?.secretOutputs ?? []).map((name) => `output ${name}`),
      ];
      if (holding.length > 0) {
        throw new CliError(
          `${holding.join(", ")} ${holding.length === 1 ? "holds" : "hold"} secret values, which state keeps encrypted: set VIRTFORM_PASSPHRASE`,
        );
      }
    }
    outputs = program?.outputs ?? {};
    secretOutputs = program?.secretOutputs ?? [];
  }
  const lock = await workspace.lock(stack, operation, parseDuration(options.lockTimeout));
  try {
    const store = workspace.stateStore(stack);
    const state = checkStateKinds(await store.load(), store.path);
    if (programMissing) {
      // Said before the plan, so nobody confirms a destroy without knowing where it came from.
      const count = Object.keys(state.resources).length;
      out(`program ${programPath} not found: destroying the ${count} resource${count === 1 ? "" : "s"} state holds for stack ${stack}\n\n`);
    }
    const provider = workspace.provider();
    for (const r of await recoverPending(state, provider, store)) {
      process.stderr.write(`note: ${r.address}: ${withArticle(r.operation)} interrupted by an earlier run was ${r.outcome === "adopted" ? "found in the backend and adopted into state" : r.outcome === "kept" ? "kept; it is retried with the same idempotency token" : "settled"}\n`);
    }
    const { drift, records } = options.refresh === false ? { drift: [], records: [] } : await refreshState(state, provider);
    // Drift is for display: secret values in it are redacted like everywhere else.
    for (const d of drift) {
      const resource = state.resources[d.address];
      const paths = secretPathsOf(resource?.kind ?? "", resource?.secretPaths);
      d.fields = d.fields.map((f) => (isSecretPath(f.path, paths) ? { ...f, before: REDACTED, after: REDACTED } : f));
    }
    const planState = forkState(state);
    for (const record of records) applyRecord(planState, record);
    planState.serial = state.serial; // the plan is made against the persisted serial
    // A refresh changes no resource: its plan is empty (not a plan against an empty program, which a
    // protected resource in state would refuse as a deletion).
    const plan: Plan = options.refreshOnly
      ? { stack: planState.stack, lineage: planState.lineage, serial: planState.serial, changes: [], outputs, outputChanges: [] }
      : makePlan(planState, resources, outputs, {
          kinds: kindInfo,
          destroy: options.destroy ?? false,
          replace: options.replace ?? [],
          targets: options.target ?? [],
          secretOutputs,
        });
    await options.onPlan?.(plan, planState, provider);
    const lost = checkLostObjects(planState, plan, await unrecordedObjects(planState, provider), options.allowDuplicates ?? false);
    if (lost.refuse) throw new CliError(lost.refuse);
    if (lost.warn) process.stderr.write(`warning: ${lost.warn}\n`);
    // Capacity before and after is shown for a plan that changes something; a no-op plan skips it.
    const changing = plan.changes.some((c) => c.action !== "noop");
    const capacityBefore = changing ? ownRows((await provider.capacity?.()) ?? [], planState) : [];
    let capacityAfter = capacityBefore;
    const problems = await rehearsePlan(plan, planState, provider, async (rehearsed, rehearsedState) => {
      if (changing) capacityAfter = ownRows((await rehearsed.capacity?.()) ?? capacityBefore, rehearsedState);
    });
    if (!options.refreshOnly) problems.push(...unhealthyProblems(drift, plan));
    const capacity = capacityChanges(capacityBefore, capacityAfter, problems.length > 0);
    if (problems.length > 0) {
      // Show what was planned (and drifted), and the capacity the rehearsal reached, before saying
      // why it cannot be applied. JSON and Markdown are written by planCommand from the error.
      if (!options.json && !options.markdown) out(planText(plan, drift, capacity, false) + "\n");
      throw new PlanRejectedError(problems, plan, drift, capacity);
    }
    return await work({ workspace, stack, store, provider, state, refreshRecords: records, drift, plan, program: programPath, capacity });
  } finally {
    lock.release();
  }
}

/** The plan `plan` would show, for other commands (review); a plan the backend refused comes back with why. */
export async function planForReview(
  program: string,
  options: RunOptions,
): Promise<{ plan: Plan; capacity: CapacityChange[]; problems: Diagnostic[]; protectedInState: string[]; writtenBytes: Map<string, number> }> {
  // What the backend holds for each volume or snapshot the plan replaces or deletes, and each local
  // disk it wipes, read before the rehearsal so that a plan it refuses still says it.
  const writtenBytes = new Map<string, number>();
  let protectedInState: string[] = [];
  const onPlan = async (plan: Plan, state: State, provider: Provider) => {
    protectedInState = Object.keys(state.resources).filter((a) => state.resources[a]?.options?.protect);
    for (const change of plan.changes) {
      const id = change.deposedId ?? state.resources[change.address]?.id;
      const wipesLocalDisk = change.kind === "Instance" && change.action !== "noop" && change.action !== "create";
      if (!id || (change.action !== "replace" && change.action !== "delete" && !wipesLocalDisk)) continue;
      const bytes = await provider.writtenBytes?.(change.kind, id);
      if (bytes !== undefined) writtenBytes.set(change.address, bytes);
    }
  };
  try {
    return await withSession(program, "plan", { ...options, json: true, onPlan }, async ({ plan, capacity }) => ({ plan, capacity, problems: [], protectedInState, writtenBytes }));
  } catch (err) {
    if (err instanceof PlanRejectedError) return { plan: err.plan, capacity: err.capacity, problems: err.diagnostics, protectedInState, writtenBytes };
    throw err;
  }
}

export async function planCommand(program: string, options: PlanCommandOptions): Promise<number> {
  try {
    return await planAndShow(program, options);
  } catch (err) {
    // A failed plan still answers in the format asked for; the error is then reported as usual.
    if (options.json) out(JSON.stringify(failureJson(err, warningsFor(options)), null, 2) + "\n");
    else if (options.markdown && err instanceof PlanRejectedError) {
      out(renderPlanMarkdown(err.plan, kindInfo, err.drift, { capacity: err.capacity, diagnostics: [...warningsFor(options), ...err.diagnostics] }));
    }
    throw err;
  }
}

/** `plan --json` when no plan could be made or applied: the diagnostics, and the plan if there is one. */
function failureJson(err: unknown, warnings: Diagnostic[]) {
  if (err instanceof PlanRejectedError) {
    return { ...planToJson(err.plan, kindInfo, err.drift), capacity: err.capacity, diagnostics: diagnosticsToJson([...warnings, ...err.diagnostics]) };
  }
  const errors: Diagnostic[] =
    err instanceof DiagnosticsError ? err.diagnostics : [{ severity: "error", message: err instanceof Error ? err.message : String(err) }];
  return { format_version: PLAN_FORMAT_VERSION, diagnostics: diagnosticsToJson([...warnings, ...errors]) };
}

/** The text of a plan: drift, the changes, and capacity; a refresh-only plan has only drift to show. */
function planText(plan: Plan, drift: Drift[], capacity: CapacityChange[], refreshOnly: boolean): string {
  if (refreshOnly) {
    const n = drift.length;
    return (
      renderDriftText(drift, color()) +
      (n === 0
        ? "Nothing changed outside virtform: state already matches the backend.\n"
        : `Refresh only: ${n} object${n === 1 ? "" : "s"} changed outside virtform; applying records ${n === 1 ? "it" : "them"} in state and changes nothing else.\n`)
    );
  }
  return renderDriftText(drift, color()) + renderPlanText(plan, { kinds: kindInfo, color: color() }) + "\n" + withBreak(renderCapacityText(capacity));
}

async function planAndShow(program: string, options: PlanCommandOptions): Promise<number> {
  return withSession(program, "plan", options, async ({ plan, drift, refreshRecords, state, capacity }) => {
    const warnings = warningsFor(options);
    if (options.json) out(JSON.stringify({ ...planToJson(plan, kindInfo, drift), capacity, diagnostics: diagnosticsToJson(warnings) }, null, 2) + "\n");
    else if (options.markdown) out(renderPlanMarkdown(plan, kindInfo, drift, { capacity, diagnostics: warnings }));
    else out(planText(plan, drift, capacity, options.refreshOnly ?? false));
    if (options.out) {
      const body = { refreshOnly: options.refreshOnly ?? false, refreshRecords, plan };
      writeSavedPlan(
        options.out,
        { program, stack: state.stack, lineage: state.lineage, serial: state.serial, ...body },
        { holds: planHoldsSecrets(body, secretPathsOf), cipher: stateCipher() },
      );
      if (!options.json) out(`\nSaved the plan to ${options.out}. Apply exactly it with: virtform apply ${options.out}\n`);
    }
    const outputsChange = (plan.outputChanges ?? []).length > 0;
    return options.detailedExitcode && (hasChanges(plan) || outputsChange || drift.length > 0) ? 2 : 0;
  });
}

export async function applyCommand(programOrPlan: string, options: ApplyCommandOptions): Promise<number> {
  const saved = readSavedPlan(programOrPlan, stateCipher);
  if (saved) return applySavedPlan(programOrPlan, saved, options);
  return withSession(programOrPlan, options.destroy ? "destroy" : "apply", options, async (session) => {
    const { plan, drift } = session;
    out(planText(plan, drift, session.capacity, options.refreshOnly ?? false));
    if (!hasChanges(plan) && !options.refreshOnly) {
      await carryOut(session, options, true);
      out((plan.outputChanges ?? []).length > 0 ? "\nApply complete: outputs recorded; no resource changed.\n" : "\nApply complete: nothing to do.\n");
      return 0;
    }
    if (options.refreshOnly) {
      await confirm(options.yes ?? false, "apply");
      await carryOut(session, options, true);
      out(`\nRefresh complete: ${drift.length} object(s) updated in state.\n`);
      return 0;
    }
    await confirm(options.yes ?? false, options.destroy ? "destroy" : "apply");
    return carryOut(session, options, false);
  });
}

async function applySavedPlan(file: string, saved: SavedPlan, options: ApplyCommandOptions): Promise<number> {
  const workspace = new Workspace();
  const lock = await workspace.lock(saved.stack, "apply", parseDuration(options.lockTimeout));
  try {
    const store = workspace.stateStore(saved.stack);
    const state = checkStateKinds(await store.load(), store.path);
    try {
      checkNotStale(saved, state, file);
    } catch (err) {
      if (err instanceof StalePlanError) throw new CliError(err.message);
      throw err;
    }
    out(renderPlanText(saved.plan, { kinds: kindInfo, color: color() }) + "\n");
    const session: Session = {
      workspace,
      stack: saved.stack,
      store,
      provider: workspace.provider(),
      state,
      refreshRecords: saved.refreshRecords,
      drift: [],
      plan: saved.plan,
      program: saved.program,
      capacity: [],
    };
    // A saved plan was reviewed when it was made: it is applied without asking again.
    return await carryOut(session, options, !hasChanges(saved.plan));
  } finally {
    lock.release();
  }
}

async function carryOut(session: Session, options: ApplyCommandOptions, quiet: boolean): Promise<number> {
  const { plan, state, store, provider } = session;
  for (const record of session.refreshRecords) await store.record(state, record);
  const parallelism = options.parallelism ? Number(options.parallelism) : 10;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new CliError(`--parallelism must be a positive whole number, got ${options.parallelism}`);
  const cancel = new AbortController();
  const onInterrupt = () => {
    if (cancel.signal.aborted) return;
    process.stderr.write("\nInterrupt received: letting steps in flight finish and saving state; nothing new starts.\n");
    cancel.abort();
  };
  process.on("SIGINT", onInterrupt);
  const progress = quiet ? undefined : new ApplyProgress(process.stdout, (address) => state.resources[address]?.id);
  if (!quiet) out("\n");
  let result;
  try {
    result = await applyPlan(plan, state, provider, store, {
      parallelism,
      kindParallelism: parseKindLimits(options.kindParallelism),
      signal: cancel.signal,
      hooks: progress ? { onStepStart: (s) => progress.started(s), onStepEnd: (r) => progress.ended(r) } : {},
    });
  } finally {
    progress?.stop();
    process.off("SIGINT", onInterrupt);
  }
  if (quiet) return 0;
  printSummary(result.results, result.ok, cancel.signal.aborted);
  if (result.ok && Object.keys(result.state.outputs).length > 0) {
    out("\nOutputs:\n");
    const shown = redact(result.state.outputs, result.state.secretOutputs ?? []) ?? {};
    for (const [name, value] of Object.entries(shown)) out(`  ${name} = ${JSON.stringify(value)}\n`);
  }
  if (cancel.signal.aborted) return 130;
  return result.ok ? 0 : 1;
}

/** ["Instance=4"] -> { Instance: 4 }, naming what is wrong with a bad entry. */
export function parseKindLimits(entries: string[] | undefined): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const entry of entries ?? []) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(entry);
    if (!match || Number(match[2]) < 1) throw new CliError(`--kind-parallelism takes KIND=N with N >= 1, e.g. Instance=4; got "${entry}"`);
    if (!kindInfo.has(match[1]!)) throw new CliError(`--kind-parallelism: no kind ${match[1]}; kinds: ${[...kindInfo.keys()].join(", ")}`);
    limits[match[1]!] = Number(match[2]);
  }
  return limits;
}

function printSummary(results: StepResult[], ok: boolean, cancelled: boolean): void {
  const counts = { create: 0, update: 0, delete: 0, failed: 0, skipped: 0 };
  let replaced = 0;
  for (const r of results) {
    if (r.status === "done") {
      counts[r.step.operation]++;
      if (r.step.operation === "create" && r.step.change.action === "replace") replaced++;
    } else counts[r.status]++;
  }
  const verdict = cancelled ? "Apply interrupted" : ok ? "Apply complete" : "Apply failed";
  out(
    `\n${verdict}: ${counts.create} created, ${counts.update} updated, ${counts.delete} deleted` +
      `${counts.failed ? `, ${counts.failed} failed` : ""}${counts.skipped ? `, ${counts.skipped} skipped` : ""}` +
      `${replaced ? ` (${replaced} replaced: each a create and a delete)` : ""}.\n`,
  );
  for (const r of results.filter((r) => r.status === "failed")) {
    process.stderr.write(`Error: ${r.step.operation} ${r.step.change.address}: ${r.error}\n`);
  }
  const skipped = results.filter((r) => r.status === "skipped" && r.error !== CANCELLED);
  if (skipped.length > 0) out(`Skipped: ${listed(skipped.map((r) => r.step.change.address))}\n`);
  const notStarted = results.filter((r) => r.status === "skipped" && r.error === CANCELLED).length;
  if (notStarted > 0) out(`Not started: ${notStarted} step${notStarted === 1 ? "" : "s"}; run apply again to carry them out.\n`);
}

/** A list that stays readable when thousands of steps were skipped. */
function listed(addresses: string[], max = 20): string {
  const shown = addresses.slice(0, max).join(", ");
  return addresses.length > max ? `${shown} and ${addresses.length - max} more` : shown;
}

async function confirm(yes: boolean, what: "apply" | "destroy"): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(`${what} needs confirmation: run it in a terminal or pass --yes`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\nDo you want to ${what} these changes? Only 'yes' is accepted: `);
    if (answer.trim() !== "yes") throw new CliError(`${what} cancelled`);
  } finally {
    rl.close();
  }
}
