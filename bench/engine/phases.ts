// One measured run of the engine, in-process, with the time of each phase: the steps of
// `virtform apply --yes` / `virtform plan` (operations/plan.ts planLocked, operations/apply.ts) called
// one by one. Run in a child process per measurement (bench/engine/engine.ts does), so that peak RSS
// is this run's. Prints one JSON line.
//   npx tsx bench/engine/phases.ts plan|apply <workdir>
import { applyPlan } from "../../engine/apply.ts";
import { makePlan } from "../../engine/plan.ts";
import { recoverPending } from "../../engine/recover.ts";
import { unrecordedObjects } from "../../engine/lost-objects.ts";
import { refreshState } from "../../engine/refresh.ts";
import { rehearsePlan } from "../../engine/rehearse.ts";
import { renderPlanText } from "../../engine/render/plan-text.ts";
import { applyRecord, forkState } from "../../engine/state.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";
import { loadProgram } from "../../cli/program.ts";
import { Workspace } from "../../cli/workspace.ts";

const [mode, dir] = process.argv.slice(2);
if ((mode !== "plan" && mode !== "apply") || !dir) throw new Error("usage: phases.ts plan|apply <workdir>");
process.chdir(dir);

const phases: Record<string, number> = {};
let last = performance.now();
const started = last;
const mark = (name: string) => {
  const now = performance.now();
  phases[name] = (phases[name] ?? 0) + (now - last) / 1000;
  last = now;
};

const program = await loadProgram("infra.ts");
mark("load program");
const workspace = new Workspace();
const lock = await workspace.lock(program.name, mode, 0);
const store = workspace.stateStore(program.name);
const state = await store.load();
const provider = await workspace.provider();
await recoverPending(state, provider, store);
mark("load state");
const { records } = await refreshState(state, provider);
mark("refresh");
const planState = forkState(state);
for (const record of records) applyRecord(planState, record);
planState.serial = state.serial;
const plan = makePlan(planState, program.resources, program.outputs, { kinds: kindInfo, destroy: false, replace: [], targets: [] });
mark("plan");
await unrecordedObjects(planState, provider);
mark("lost objects");
const problems = await rehearsePlan(plan, planState, provider);
if (problems.length > 0) throw new Error(`rehearsal found ${problems.length} problems: ${problems[0]?.message}`);
mark("rehearse");
renderPlanText(plan, { kinds: kindInfo, color: false });
mark("render");
if (mode === "apply") {
  for (const record of records) await store.record(state, record);
  const result = await applyPlan(plan, state, provider, store, { parallelism: 10 });
  if (!result.ok) throw new Error(`apply failed: ${result.results.find((r) => r.status === "failed")?.error}`);
  mark("apply");
}
lock.release();
const total = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ phases, total, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + "\n");
