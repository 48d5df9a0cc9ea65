// plan, apply, destroy and refresh as commands: load the program, call the operation
// (operations/plan.ts, operations/apply.ts: lock, recover, refresh, plan, rehearse, carry out), and
// render what it returns and tells. Nothing here decides a change.
import { CANCELLED, type StepResult } from "../../engine/apply.ts";
import { DiagnosticsError, formatDiagnostic, type Diagnostic } from "../../core/model.ts";
import { hasChanges, type Plan } from "../../engine/plan.ts";
import type { Provider } from "../../engine/provider.ts";
import type { Drift } from "../../engine/refresh.ts";
import { diagnosticsToJson } from "../../engine/render/diagnostics-json.ts";
import { PLAN_FORMAT_VERSION, planToJson } from "../../engine/render/plan-json.ts";
import { renderPlanMarkdown } from "../../engine/render/plan-markdown.ts";
import { renderCapacityText, type CapacityChange } from "../../engine/render/capacity.ts";
import { renderDriftText, renderPlanText } from "../../engine/render/plan-text.ts";
import { planHoldsSecrets, readSavedPlan, writeSavedPlan, type SavedPlan } from "../../engine/saved-plan.ts";
import type { State } from "../../engine/state.ts";
import { kindInfo, secretPathsOf } from "../../sdk/kinds/index.ts";
import { redact } from "../../core/secret-paths.ts";
import { CliError } from "../cli-error.ts";
import { describeError, describeStepError } from "../report-error.ts";
import { withArticle } from "../../core/article.ts";
import { parseDuration } from "../duration.ts";
import type { LoadOptions } from "../program.ts";
import { runProgram } from "../program-runner.ts";
import { projectStackName, pulumiProjectDir } from "../pulumi/project.ts";
import { startPulumiPasses } from "../pulumi/load-lazily.ts";
import type { PulumiPasses } from "../pulumi/passes.ts";
import { renderComponentsText } from "../pulumi/components.ts";
import type { EvaluatedStack } from "../../sdk/evaluate.ts";
import { ApplyProgress } from "../progress.ts";
import { noteStaleLock, stateCipher, Workspace } from "../workspace.ts";
import type { DesiredProgram, OperationContext, OperationEvent } from "../../operations/context.ts";
import { plan as planOperation, rejected, requestWarnings, type Planned, type PlanOptions } from "../../operations/plan.ts";
import { apply as applyOperation, applySaved, type Applied } from "../../operations/apply.ts";
import { renderUnbuiltText, unbuiltVariants, type UnbuiltVariant } from "../image-builds.ts";
import type { BackendName } from "../stack-config.ts";

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
  /** Build the image variants the layer cache lacks before applying. */
  buildImages?: boolean;
  /** Refuse to apply while an image variant is not built. */
  requireImages?: boolean;
  parallelism?: string;
  kindParallelism?: string[];
  destroy?: boolean;
}

/** A plan the rehearsal refused. What was planned comes along: the capacity it reached explains why. */
class PlanRejectedError extends DiagnosticsError {
  readonly planned: Planned;

  constructor(planned: Planned) {
    const problems = planned.diagnostics.filter((d) => d.severity === "error");
    super(problems, `the plan cannot be applied: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
    this.planned = planned;
  }
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

/** The program's desired resources; `missing` when destroy runs from state alone because the program is gone. */
async function loadDesired(
  programPath: string,
  options: RunOptions & { destroy?: boolean; quiet?: boolean },
  workspace: Workspace,
): Promise<{ program: DesiredProgram; missing: boolean; passes?: PulumiPasses }> {
  const pulumiDir = pulumiProjectDir(programPath, options.pulumi);
  const fromState = (stack: string, missing = false) => ({ program: { stack, resources: [], outputs: {}, secretOutputs: [] }, missing });
  // As `pulumi destroy`: the program is not run, state says what there is.
  if (pulumiDir && options.destroy) return fromState(projectStackName(pulumiDir, options.stack));
  if (options.destroy && options.stack) return fromState(options.stack);
  if (pulumiDir) {
    // A Pulumi program may be known in passes (cli/pulumi/passes.ts).
    const passes = await startPulumiPasses(pulumiDir, { ...options, ...imageLoadOptions(options) });
    if (!options.quiet) out(renderComponentsText(passes.stack.parents));
    return { program: passes.program, missing: false, passes };
  }
  const load = runProgram(programPath, imageLoadOptions(options));
  let program: EvaluatedStack;
  try {
    program = await load;
  } catch (err) {
    // destroy works from state alone when the program is gone
    if (options.destroy && err instanceof CliError && err.message.includes("not found")) return fromState(workspace.pickStack(undefined), true);
    throw err;
  }
  return { program: { stack: program.name, resources: program.resources, outputs: program.outputs, secretOutputs: program.secretOutputs ?? [] }, missing: false };
}

/** The operations' context for a stack of this working directory; what they tell is printed to stderr. */
function cliContext(workspace: Workspace, stack: string, onStep?: (event: OperationEvent) => void): OperationContext {
  return {
    store: workspace.stateStore(stack),
    provider: () => workspace.provider(stack),
    onEvent: (event) => {
      if (event.type === "stale-lock-taken") noteStaleLock(event.holder);
      else if (event.type === "recovered") {
        const r = event.recovered;
        process.stderr.write(`note: ${r.address}: ${withArticle(r.operation)} interrupted by an earlier run was ${r.outcome === "adopted" ? "found in the backend and adopted into state" : r.outcome === "kept" ? "kept; it is retried with the same idempotency token" : "settled"}\n`);
      } else if (event.type === "warning") process.stderr.write(`warning: ${event.message}\n`);
      else onStep?.(event);
    },
  };
}

function planOptions(options: RunOptions & { destroy?: boolean }): PlanOptions {
  return {
    ...(options.refresh === false ? { refresh: false } : {}),
    refreshOnly: options.refreshOnly ?? false,
    destroy: options.destroy ?? false,
    targets: options.target ?? [],
    replace: options.replace ?? [],
    allowDuplicates: options.allowDuplicates ?? false,
    lockTimeoutMs: parseDuration(options.lockTimeout),
  };
}

function printWarnings(warnings: Diagnostic[]): void {
  for (const warning of warnings) process.stderr.write(`Warning: ${formatDiagnostic(warning)}\n`);
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
  const inspect = async (plan: Plan, state: State, provider: Provider) => {
    protectedInState = Object.keys(state.resources).filter((a) => state.resources[a]?.options?.protect);
    for (const change of plan.changes) {
      const id = change.deposedId ?? state.resources[change.address]?.id;
      const wipesLocalDisk = change.kind === "Instance" && change.action !== "noop" && change.action !== "create";
      if (!id || (change.action !== "replace" && change.action !== "delete" && !wipesLocalDisk)) continue;
      const bytes = await provider.writtenBytes?.(change.kind, id);
      if (bytes !== undefined) writtenBytes.set(change.address, bytes);
    }
  };
  printWarnings(requestWarnings({ targets: options.target ?? [] }));
  const workspace = new Workspace();
  const { program: desired, passes } = await loadDesired(program, { ...options, quiet: true }, workspace);
  // A Pulumi program known in passes is reviewed as `plan` shows it: its last pass, deletions included once known.
  const planned = await planOperation(cliContext(workspace, desired.stack), desired, {
    ...planOptions(options),
    inspect,
    ...(passes ? { nextPass: passes.afterPlan } : {}),
  });
  const problems = planned.diagnostics.filter((d) => d.severity === "error");
  return { plan: planned.plan, capacity: planned.capacity, problems, protectedInState, writtenBytes };
}

export async function planCommand(program: string, options: PlanCommandOptions): Promise<number> {
  const warnings = requestWarnings({ targets: options.target ?? [] });
  try {
    return await planAndShow(program, options, warnings);
  } catch (err) {
    // A failed plan still answers in the format asked for; the error is then reported as usual.
    if (options.json) out(JSON.stringify(failureJson(err, warnings), null, 2) + "\n");
    else if (options.markdown && err instanceof PlanRejectedError) {
      const { plan, drift, capacity, diagnostics } = err.planned;
      out(renderPlanMarkdown(plan, kindInfo, drift, { capacity, diagnostics }));
    }
    throw err;
  }
}

/** `plan --json` when no plan could be made or applied: the diagnostics, and the plan if there is one. */
function failureJson(err: unknown, warnings: Diagnostic[]) {
  if (err instanceof PlanRejectedError) {
    const { plan, drift, capacity, diagnostics } = err.planned;
    return { ...planToJson(plan, kindInfo, drift), capacity, diagnostics: diagnosticsToJson(diagnostics) };
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
      renderDriftText(drift, kindInfo, color()) +
      (n === 0
        ? "Nothing changed outside virtform: state already matches the backend.\n"
        : `Refresh only: ${n} object${n === 1 ? "" : "s"} changed outside virtform; applying records ${n === 1 ? "it" : "them"} in state and changes nothing else.\n`)
    );
  }
  return renderDriftText(drift, kindInfo, color()) + renderPlanText(plan, { kinds: kindInfo, color: color() }) + "\n" + withBreak(renderCapacityText(capacity));
}

/** A refused plan: what was planned (and drifted) and the capacity the rehearsal reached, then why. */
function refuse(planned: Planned, text: boolean): never {
  if (text) out(planText(planned.plan, planned.drift, planned.capacity, false) + "\n");
  throw new PlanRejectedError(planned);
}

async function planAndShow(program: string, options: PlanCommandOptions, warnings: Diagnostic[]): Promise<number> {
  printWarnings(warnings);
  const workspace = new Workspace();
  const { program: desired, passes } = await loadDesired(program, { ...options, quiet: options.json === true || options.markdown === true }, workspace);
  const planned = await planOperation(cliContext(workspace, desired.stack), desired, {
    ...planOptions(options),
    ...(passes && !options.refreshOnly ? { nextPass: passes.afterPlan } : {}),
  });
  if (rejected(planned)) refuse(planned, !options.json && !options.markdown);
  const { plan, drift, refreshRecords, state, capacity } = planned;
  if (options.json) out(JSON.stringify({ ...planToJson(plan, kindInfo, drift), ...passes?.deferredJson(), capacity, diagnostics: diagnosticsToJson(planned.diagnostics) }, null, 2) + "\n");
  else if (options.markdown) out(renderPlanMarkdown(plan, kindInfo, drift, { capacity, diagnostics: planned.diagnostics }));
  else out(planText(plan, drift, capacity, options.refreshOnly ?? false) + (passes?.deferredText() ?? "") + withBreak(renderUnbuiltText(unbuiltOf(desired, program, options), program, process.env, workspace.backendName(desired.stack))));
  if (options.out) {
    const body = { refreshOnly: options.refreshOnly ?? false, refreshRecords, plan };
    const laterPasses = passes?.laterPasses;
    writeSavedPlan(
      options.out,
      { program, stack: state.stack, lineage: state.lineage, serial: state.serial, ...body, ...(laterPasses ? { laterPasses } : {}) },
      { holds: planHoldsSecrets(body, secretPathsOf), cipher: stateCipher() },
    );
    if (!options.json) {
      const rest = laterPasses ? `; it is this pass only: then \`virtform apply --pulumi ${laterPasses.project}\` plans and applies the rest` : "";
      out(`\nSaved the plan to ${options.out}. Apply exactly it with: virtform apply ${options.out}${rest}\n`);
    }
  }
  const outputsChange = (plan.outputChanges ?? []).length > 0;
  return options.detailedExitcode && (hasChanges(plan) || outputsChange || drift.length > 0) ? 2 : 0;
}

/**
 * What apply shows while it carries out a plan: a progress display (unless `quiet`), and Ctrl-C
 * turned into a cancel that lets steps in flight finish. Started once the plan is approved.
 */
class CarryOutView {
  readonly cancel = new AbortController();
  private progress: ApplyProgress | undefined;
  private readonly onInterrupt = () => {
    if (this.cancel.signal.aborted) return;
    process.stderr.write("\nInterrupt received: letting steps in flight finish and saving state; nothing new starts.\n");
    this.cancel.abort();
  };

  start(state: State, quiet: boolean): void {
    process.on("SIGINT", this.onInterrupt);
    if (quiet) return;
    this.progress = new ApplyProgress(process.stdout, (address) => state.resources[address]?.id);
    out("\n");
  }

  onStep = (event: OperationEvent): void => {
    if (event.type === "step-start") this.progress?.started(event.step);
    else if (event.type === "step-end") this.progress?.ended(event.result);
  };

  stop(): void {
    this.progress?.stop();
    process.off("SIGINT", this.onInterrupt);
  }
}

export async function applyCommand(programOrPlan: string, options: ApplyCommandOptions): Promise<number> {
  const saved = readSavedPlan(programOrPlan, stateCipher);
  if (saved) return applySavedPlan(programOrPlan, saved, options);
  const warnings = requestWarnings({ targets: options.target ?? [] });
  printWarnings(warnings);
  const workspace = new Workspace();
  const { program, missing, passes } = await loadDesired(programOrPlan, options, workspace);
  const parallelism = parseParallelism(options.parallelism);
  const kindParallelism = parseKindLimits(options.kindParallelism);
  const view = new CarryOutView();
  const refreshOnly = options.refreshOnly ?? false;
  const unbuilt = unbuiltOf(program, programOrPlan, options);
  let quiet = true;
  let pass = 0;
  let shown = 0;
  let confirmed = false;
  let applied: Applied;
  const notice = (state: State) => {
    // Said before the plan, so nobody confirms a destroy without knowing where it came from.
    const count = Object.keys(state.resources).length;
    if (missing) out(`program ${programOrPlan} not found: destroying the ${count} resource${count === 1 ? "" : "s"} state holds for stack ${program.stack}\n\n`);
  };
  try {
    applied = await applyOperation(cliContext(workspace, program.stack, view.onStep), program, {
      ...planOptions(options),
      parallelism,
      kindParallelism,
      signal: view.cancel.signal,
      encryptsSecrets: Boolean(process.env.VIRTFORM_PASSPHRASE),
      ...(passes && !refreshOnly ? { nextPass: passes.afterApply } : {}),
      // Once for each pass of a Pulumi program known in passes; once otherwise.
      approve: async (planned) => {
        pass++;
        view.stop();
        const nothingToDo = !hasChanges(planned.plan) && !refreshOnly;
        // A pass that changes nothing and is not the last is not shown: the next one says more.
        const silent = passes !== undefined && !passes.complete && nothingToDo;
        if (shown > 0 && !silent) out(`\nPass ${pass}: the program ran again with the outputs applied so far.\n\n`);
        notice(planned.state);
        const backend = workspace.backendName(program.stack);
        // A later pass may know images (or variants) the first did not.
        const unbuiltNow = pass === 1 || !passes ? unbuilt : unbuiltOf(passes.program, programOrPlan, options);
        if (!silent) out(planText(planned.plan, planned.drift, planned.capacity, refreshOnly) + (passes?.deferredText() ?? "") + withBreak(renderUnbuiltText(unbuiltNow, programOrPlan, process.env, backend)));
        if (!silent) shown++;
        checkImages(unbuiltNow, programOrPlan, options, backend);
        // A later pass asks again only for what the first could not show: a replacement or a deletion.
        if (!nothingToDo && (!confirmed || destroys(planned.plan))) await confirm(options.yes ?? false, options.destroy ? "destroy" : "apply");
        confirmed ||= !nothingToDo;
        await buildImages(unbuiltNow, programOrPlan, options);
        quiet &&= nothingToDo || refreshOnly;
        view.start(planned.state, nothingToDo || refreshOnly);
      },
    });
  } finally {
    view.stop();
  }
  if (!applied.result) {
    notice(applied.state);
    return refuse(applied, true);
  }
  if (applied.stopped) {
    // The earlier passes' changes stand and are reported; why the later one did not run is said first.
    const why = applied.stopped.error === undefined ? undefined : describeError(applied.stopped.error);
    if (why?.bug) throw applied.stopped.error;
    out(`\nPass ${applied.stopped.pass} was not carried out:\n`);
    if (why) out(`  ${why.text.replace(/^Error: /, "").trimEnd().replaceAll("\n", "\n  ")}\n`);
    for (const d of applied.diagnostics.filter((d) => d.severity === "error")) out(`  ${formatDiagnostic(d).replaceAll("\n", "\n  ")}\n`);
  }
  if (refreshOnly) {
    out(`\nRefresh complete: ${applied.drift.length} object(s) updated in state.\n`);
    return 0;
  }
  if (quiet) {
    out((applied.plan.outputChanges ?? []).length > 0 ? "\nApply complete: outputs recorded; no resource changed.\n" : "\nApply complete: nothing to do.\n");
    return 0;
  }
  return report(applied, view.cancel.signal.aborted);
}

/** Whether a plan replaces or deletes anything. */
const destroys = (plan: Plan) => plan.changes.some((c) => c.action === "replace" || c.action === "delete");

const notBuilt = (unbuilt: readonly UnbuiltVariant[]) => `${unbuilt.map((u) => `${u.address}:${u.variant}`).join(", ")} ${unbuilt.length === 1 ? "is" : "are"} not built`;

/**
 * Unbuilt image variants, before confirmation: --require-images refuses with the command to run;
 * without --build-images apply goes on (the emulator registers the variants without an artifact)
 * and says so.
 */
/** The program's locked image variants the layer cache lacks (none for a destroy or a refresh). */
function unbuiltOf(program: DesiredProgram, path: string, options: { destroy?: boolean; refreshOnly?: boolean }): UnbuiltVariant[] {
  return options.destroy || options.refreshOnly ? [] : unbuiltVariants(program.resources, path);
}

function checkImages(unbuilt: UnbuiltVariant[], program: string, options: ApplyCommandOptions, backend: BackendName): void {
  if (unbuilt.length === 0 || options.buildImages) return;
  if (options.requireImages) throw new CliError(`${notBuilt(unbuilt)}: run 'virtform images build ${program}' first, or apply with --build-images`);
  const them = unbuilt.length === 1 ? "it" : "them";
  const meaning = backend === "libvirt" ? `instances of ${them} boot an empty placeholder disk on libvirt` : `the emulator registers ${them} without an image`;
  process.stderr.write(
    `warning: ${notBuilt(unbuilt)}; ${meaning}. Build with 'virtform images build ${program}' or apply with --build-images (--require-images refuses instead).\n`,
  );
}

/** --build-images, once confirmed: builds the program's variants (what the cache holds is reused) before any change. */
async function buildImages(unbuilt: UnbuiltVariant[], program: string, options: ApplyCommandOptions): Promise<void> {
  if (unbuilt.length === 0 || !options.buildImages) return;
  out("\nBuilding the image variants first:\n");
  // Loaded when used: the image builder's modules are no part of a plan's or an apply's start-up.
  await (await import("./images-build.ts")).imagesBuildCommand(program, {});
}

async function applySavedPlan(file: string, saved: SavedPlan, options: ApplyCommandOptions): Promise<number> {
  const parallelism = parseParallelism(options.parallelism);
  const kindParallelism = parseKindLimits(options.kindParallelism);
  const view = new CarryOutView();
  const quiet = !hasChanges(saved.plan);
  let applied: Applied;
  try {
    applied = await applySaved(cliContext(new Workspace(), saved.stack, view.onStep), saved, file, {
      parallelism,
      kindParallelism,
      signal: view.cancel.signal,
      lockTimeoutMs: parseDuration(options.lockTimeout),
      // A saved plan was reviewed when it was made: it is applied without asking again.
      approve: async (planned) => {
        out(renderPlanText(saved.plan, { kinds: kindInfo, color: color() }) + "\n");
        view.start(planned.state, quiet);
      },
    });
  } finally {
    view.stop();
  }
  const code = quiet ? 0 : report(applied, view.cancel.signal.aborted);
  if (saved.laterPasses && code === 0) out(laterPassesText(saved));
  return code;
}

/** After a saved plan of one pass was applied: what it did not hold, and how to get the rest. */
function laterPassesText(saved: SavedPlan): string {
  const { deferred, unknownOutputs, project } = saved.laterPasses!;
  const left = [...deferred.map((address) => `${address} (deferred)`), ...unknownOutputs.map((name) => `output ${name}`), "any deletions"];
  return `\nThis plan was one pass of a Pulumi program known in passes; not in it: ${left.join(", ")}. Run \`virtform apply --pulumi ${project}\` to plan and apply the rest with the outputs applied now.\n`;
}

/** The summary of a run that changed something, its outputs, and its exit code. */
function report(applied: Applied, cancelled: boolean): number {
  const result = applied.result!;
  printSummary(result.results, result.ok, cancelled);
  if (result.ok && Object.keys(result.state.outputs).length > 0) {
    out("\nOutputs:\n");
    const shown = redact(result.state.outputs, result.state.secretOutputs ?? []) ?? {};
    for (const [name, value] of Object.entries(shown)) out(`  ${name} = ${JSON.stringify(value)}\n`);
  }
  if (cancelled) return 130;
  return result.ok ? 0 : 1;
}

function parseParallelism(text: string | undefined): number {
  const parallelism = text ? Number(text) : 10;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new CliError(`--parallelism must be a positive whole number, got ${text}`);
  return parallelism;
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
    process.stderr.write(`Error: ${r.step.operation} ${r.step.change.address}: ${r.thrown !== undefined ? describeStepError(r.thrown) : r.error}\n`);
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
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\nDo you want to ${what} these changes? Only 'yes' is accepted: `);
    if (answer.trim() !== "yes") throw new CliError(`${what} cancelled`);
  } finally {
    rl.close();
  }
}
