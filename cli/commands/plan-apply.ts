// plan, apply and destroy: load the program, read state, plan, rehearse the plan on a copy of the
// backend, then (for apply and destroy) confirm and carry it out.
import { createInterface } from "node:readline/promises";
import { applyPlan, type StepResult } from "../../engine/apply.ts";
import { DiagnosticsError, type Value } from "../../engine/model.ts";
import { hasChanges, makePlan, summarize, type Plan } from "../../engine/plan.ts";
import { rehearsePlan } from "../../engine/rehearse.ts";
import { planToJson } from "../../engine/render/plan-json.ts";
import { renderPlanText } from "../../engine/render/plan-text.ts";
import type { State } from "../../engine/state.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";
import { CliError } from "../cli-error.ts";
import { loadProgram } from "../program.ts";
import { Workspace } from "../workspace.ts";

export interface PlanCommandOptions {
  json?: boolean;
  detailedExitcode?: boolean;
}

export interface ApplyCommandOptions {
  yes?: boolean;
  parallelism?: string;
}

interface Prepared {
  plan: Plan;
  state: State;
  workspace: Workspace;
  stack: string;
}

const color = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

async function prepare(programPath: string, destroy: boolean, stackOption?: string): Promise<Prepared> {
  const workspace = new Workspace();
  let stack: string;
  let resources: Awaited<ReturnType<typeof loadProgram>>["resources"] = [];
  let outputs: Record<string, Value> = {};
  if (destroy && stackOption) {
    stack = stackOption;
  } else {
    const program = await loadProgram(programPath).catch((err: unknown) => {
      // destroy works from state alone when the program is gone
      if (destroy && err instanceof CliError && err.message.includes("not found")) return undefined;
      throw err;
    });
    stack = program ? program.name : workspace.pickStack(undefined);
    resources = program?.resources ?? [];
    outputs = program?.outputs ?? {};
  }
  const state = await workspace.stateStore(stack).load();
  const plan = makePlan(state, resources, outputs, { kinds: kindInfo, destroy });
  const problems = await rehearsePlan(plan, state, workspace.provider());
  if (problems.length > 0) {
    throw new DiagnosticsError(problems, `the plan cannot be applied: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
  }
  return { plan, state, workspace, stack };
}

export async function planCommand(program: string, options: PlanCommandOptions): Promise<number> {
  const { plan } = await prepare(program, false);
  if (options.json) {
    process.stdout.write(JSON.stringify(planToJson(plan, kindInfo), null, 2) + "\n");
  } else {
    process.stdout.write(renderPlanText(plan, { kinds: kindInfo, color: color() }) + "\n");
  }
  return options.detailedExitcode && hasChanges(plan) ? 2 : 0;
}

export async function applyCommand(program: string, options: ApplyCommandOptions & { destroy?: boolean; stack?: string }): Promise<number> {
  const { plan, state, workspace, stack } = await prepare(program, options.destroy ?? false, options.stack);
  process.stdout.write(renderPlanText(plan, { kinds: kindInfo, color: color() }) + "\n");
  const store = workspace.stateStore(stack);
  if (!hasChanges(plan)) {
    // Outputs may still need recording (a first apply of an empty program, or changed outputs).
    await applyPlan(plan, state, workspace.provider(), store);
    process.stdout.write("\nApply complete: nothing to do.\n");
    return 0;
  }
  await confirm(options.yes ?? false, options.destroy ? "destroy" : "apply");
  const parallelism = options.parallelism ? Number(options.parallelism) : 10;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new CliError(`--parallelism must be a positive whole number, got ${options.parallelism}`);
  process.stdout.write("\n");
  const result = await applyPlan(plan, state, workspace.provider(), store, {
    parallelism,
    hooks: { onStepEnd: (r) => process.stdout.write(progressLine(r, state) + "\n") },
  });
  const counts = { create: 0, update: 0, delete: 0, failed: 0, skipped: 0 };
  for (const r of result.results) {
    if (r.status === "done") counts[r.step.operation]++;
    else counts[r.status]++;
  }
  const summary = summarize(plan);
  process.stdout.write(
    `\n${result.ok ? "Apply complete" : "Apply failed"}: ${counts.create} created, ${counts.update} updated, ${counts.delete} deleted` +
      `${counts.failed ? `, ${counts.failed} failed` : ""}${counts.skipped ? `, ${counts.skipped} skipped` : ""}` +
      `${summary.replace ? ` (${summary.replace} replaced: each a create and a delete)` : ""}.\n`,
  );
  for (const r of result.results.filter((r) => r.status === "failed")) {
    process.stderr.write(`Error: ${r.step.operation} ${r.step.change.address}: ${r.error}\n`);
  }
  if (result.ok && Object.keys(result.state.outputs).length > 0) {
    process.stdout.write("\nOutputs:\n");
    for (const [name, value] of Object.entries(result.state.outputs)) process.stdout.write(`  ${name} = ${JSON.stringify(value)}\n`);
  }
  return result.ok ? 0 : 1;
}

function progressLine(result: StepResult, state: State): string {
  const { step } = result;
  const address = step.change.address + (step.deposed ? " (old)" : "");
  const seconds = `${(result.elapsedMs / 1000).toFixed(1)}s`;
  if (result.status !== "done") return `  ! ${address}: ${step.operation} ${result.status}: ${result.error}`;
  const id = step.operation === "delete" ? "" : ` [id=${state.resources[step.change.address]?.id ?? "?"}]`;
  const verb = { create: "created", update: "updated", delete: "deleted" }[step.operation];
  return `  ${address}: ${verb}${id} (${seconds})`;
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
