// Carries out a plan: the plan's changes become steps (a replacement is two: create and delete, in
// the order its kind allows), steps run as soon as what they wait for is done, at most
// `parallelism` at a time; a failed step skips its dependents while independent work goes on, and
// state is saved after every step.
import { randomUUID } from "node:crypto";
import type { Reference, ResourceState, Value } from "../core/model.ts";
import type { Plan, ResourceChange } from "./plan.ts";
import type { Provider } from "./provider.ts";
import type { PendingOperation, State } from "./state.ts";
import type { StateWriter } from "./state-store.ts";
import { deepEqual, getPath, resolveReferences } from "../core/values.ts";

/** The error of a step an interrupt kept from starting. */
export const CANCELLED = "cancelled";

/** The longest the walker runs without letting the event loop take a turn. */
const YIELD_EVERY_MS = 10;

export type StepOperation = "create" | "update" | "delete";

export interface Step {
  id: string;
  operation: StepOperation;
  change: ResourceChange;
  /** For the delete half of a create-before-delete replacement: the old object is deposed. */
  deposed?: boolean;
  after: Set<string>;
}

export type StepStatus = "done" | "failed" | "skipped";

export interface StepResult {
  step: Step;
  status: StepStatus;
  /** Why it failed or was skipped, in words (CANCELLED: an interrupt kept it from starting). */
  error?: string;
  /**
   * What a failed step threw, kept as thrown: a VirtformError is a refusal a user reads (the
   * backend's capacity), anything else a bug. The renderer tells them apart, not the walker.
   */
  thrown?: unknown;
  elapsedMs: number;
}

export interface ApplyHooks {
  onStepStart?(step: Step): void;
  onStepEnd?(result: StepResult): void;
}

export interface ApplyOptions {
  parallelism?: number;
  /** At most this many steps of a kind at once (backends often limit, e.g., concurrent VM boots). */
  kindParallelism?: Readonly<Record<string, number>>;
  hooks?: ApplyHooks;
  /** Ctrl-C: no new step starts; steps in flight finish and are recorded. */
  signal?: AbortSignal;
  /**
   * The idempotency token of each new create; a random UUID by default. A rehearsal, whose backend
   * copy and state are thrown away, numbers them instead (a UUID each was 1-2 % of a plan's CPU).
   */
  newToken?: () => string;
}

export interface ApplyResult {
  results: StepResult[];
  state: State;
  ok: boolean;
}

const stepId = (operation: StepOperation, address: string, deposed = false) =>
  `${operation}:${address}${deposed ? ":deposed" : ""}`;

/** Turns changes into ordered steps. Exported for tests and for printing the execution order. */
export function planSteps(plan: Plan): Step[] {
  const steps = new Map<string, Step>();
  const forward = new Map<string, Step>(); // create/update step of an address
  const backward = new Map<string, Step>(); // delete step of the current (non-deposed) object

  const add = (operation: StepOperation, change: ResourceChange, deposed = false) => {
    const step: Step = { id: stepId(operation, change.address, deposed), operation, change, deposed, after: new Set() };
    steps.set(step.id, step);
    return step;
  };
  for (const change of plan.changes) {
    switch (change.action) {
      case "noop":
        break;
      case "create":
        forward.set(change.address, add("create", change));
        break;
      case "update":
      case "update-with-restart":
        forward.set(change.address, add("update", change));
        break;
      case "delete":
        if (change.deposedId) add("delete", change, true);
        else backward.set(change.address, add("delete", change));
        break;
      case "replace": {
        const create = add("create", change);
        forward.set(change.address, create);
        if (change.replaceOrder === "delete-before-create") {
          const del = add("delete", change);
          backward.set(change.address, del);
          create.after.add(del.id);
        } else {
          add("delete", change, true).after.add(create.id);
        }
        break;
      }
    }
  }

  // Indexes instead of a scan of every change per step (quadratic at thousands of resources); each
  // list keeps plan order, so steps wait for the same others in the same order as a scan would.
  const deletes = new Map<string, Step[]>(); // address -> its delete steps
  for (const step of steps.values()) {
    if (step.operation === "delete") push(deletes, step.change.address, step);
  }
  const deletesOf = (address: string) => deletes.get(address) ?? [];
  const priorDependents = new Map<string, ResourceChange[]>(); // address -> changes that depended on it in state
  const dependents = new Map<string, ResourceChange[]>(); // address -> changes that depend on it in the program
  for (const other of plan.changes) {
    for (const dep of distinct(other.priorDependsOn)) push(priorDependents, dep, other);
    for (const dep of distinct(other.dependsOn)) push(dependents, dep, other);
  }
  for (const step of steps.values()) {
    const { change } = step;
    if (step.operation !== "delete") {
      // New versions come after the new versions of what they depend on.
      for (const dep of change.dependsOn) {
        const before = forward.get(dep);
        if (before) step.after.add(before.id);
      }
      // An update waits for its former dependents to go (a cluster shrinks after its instances are
      // deleted). Deposed deletes are excluded: they wait for this very update's successors.
      if (step.operation === "update") {
        for (const other of priorDependents.get(change.address) ?? []) {
          const gone = backward.get(other.address);
          if (gone) step.after.add(gone.id);
        }
      }
      continue;
    }
    // An old object goes only after every old object that depended on it is gone...
    for (const other of priorDependents.get(change.address) ?? []) {
      if (other.address === change.address) continue;
      for (const dependentDelete of deletesOf(other.address)) step.after.add(dependentDelete.id);
    }
    // ...and, when deposed, after its dependents moved over to the replacement.
    if (step.deposed) {
      for (const other of dependents.get(change.address) ?? []) {
        const moved = forward.get(other.address);
        if (moved) step.after.add(moved.id);
      }
    }
  }
  return [...steps.values()];
}

/** The list without repeats, in order; most lists have one entry or none, and are returned as they are (no Set per change). */
function distinct(list: readonly string[]): readonly string[] {
  return list.length > 1 ? [...new Set(list)] : list;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export async function applyPlan(
  plan: Plan,
  state: State,
  provider: Provider,
  store: StateWriter,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const steps = planSteps(plan);
  await recordOptionChanges(plan, state, store);
  const parallelism = Math.max(1, options.parallelism ?? 10);
  const results = new Map<string, StepResult>();
  const dependents = new Map<string, Step[]>();
  for (const step of steps) {
    for (const id of step.after) push(dependents, id, step);
  }

  const waiting = new Map(steps.map((s) => [s.id, s.after.size]));
  // Steps that may start, in the order they became ready; those before `head` were taken.
  const ready = steps.filter((s) => s.after.size === 0);
  let head = 0;
  /** Takes ready[i] out; says where the next step to look at is. */
  const take = (i: number): number => {
    if (i !== head) {
      ready.splice(i, 1);
      return i;
    }
    head++;
    // Drop what was taken now and then, rather than shift the whole list per step started.
    if (head > 1024 && head * 2 > ready.length) {
      ready.splice(0, head);
      head = 0;
    }
    return head;
  };
  let running = 0;
  const startedSteps = new Set<string>();
  const runningByKind = new Map<string, number>();
  const kindLimit = (kind: string) => options.kindParallelism?.[kind] ?? Infinity;
  const newToken = options.newToken ?? randomUUID;

  await new Promise<void>((resolveAll) => {
    const finish = (result: StepResult) => {
      results.set(result.step.id, result);
      options.hooks?.onStepEnd?.(result);
      for (const next of dependents.get(result.step.id) ?? []) {
        if (result.status !== "done") {
          if (!results.has(next.id)) {
            finish({ step: next, status: "skipped", error: `skipped because ${result.step.id} ${result.status}`, elapsedMs: 0 });
          }
          continue;
        }
        const left = waiting.get(next.id)! - 1;
        waiting.set(next.id, left);
        if (left === 0 && !results.has(next.id)) ready.push(next);
      }
    };
    const pump = () => {
      if (options.signal?.aborted) {
        // Cancelled: whatever has not started is skipped, in-flight steps still finish.
        for (const step of steps) {
          if (!results.has(step.id) && !startedSteps.has(step.id)) {
            results.set(step.id, { step, status: "skipped", error: CANCELLED, elapsedMs: 0 });
            options.hooks?.onStepEnd?.(results.get(step.id)!);
          }
        }
        ready.length = head = 0;
      }
      for (let i = head; running < parallelism && i < ready.length; ) {
        const step = ready[i]!;
        if (results.has(step.id)) {
          i = take(i);
          continue;
        }
        const kind = step.change.kind;
        if ((runningByKind.get(kind) ?? 0) >= kindLimit(kind)) {
          i++;
          continue;
        }
        i = take(i);
        startedSteps.add(step.id);
        runningByKind.set(kind, (runningByKind.get(kind) ?? 0) + 1);
        running++;
        options.hooks?.onStepStart?.(step);
        const started = performance.now();
        runStep(step, state, provider, store, newToken)
          .then(
            () => ({ step, status: "done" as const, elapsedMs: performance.now() - started }),
            (err: unknown) => ({
              step,
              status: "failed" as const,
              error: err instanceof Error ? err.message : String(err),
              thrown: err,
              elapsedMs: performance.now() - started,
            }),
          )
          .then((result) => {
            running--;
            runningByKind.set(kind, runningByKind.get(kind)! - 1);
            finish(result);
            pumpSoon();
          });
      }
      if (running === 0 && ready.length === head) resolveAll();
    };
    // Steps against an in-process backend settle as microtasks: without a turn of the event loop
    // now and then, Ctrl-C (a signal handler) and the progress display would wait for the whole walk.
    let lastTurn = performance.now();
    const pumpSoon = () => {
      if (performance.now() - lastTurn < YIELD_EVERY_MS) return pump();
      setImmediate(() => {
        lastTurn = performance.now();
        pump();
      });
    };
    options.signal?.addEventListener("abort", () => pump(), { once: true });
    pump();
  });

  const ok = [...results.values()].every((r) => r.status === "done");
  const outputs = resolveOutputs(plan.outputs, state);
  const secretOutputs = plan.secretOutputs ?? [];
  if (!deepEqual(outputs, state.outputs) || !deepEqual(secretOutputs, state.secretOutputs ?? [])) {
    await store.record(state, { type: "outputs", outputs, ...(secretOutputs.length > 0 ? { secretOutputs } : {}) });
  }
  await store.commit(state);
  return { results: steps.map((s) => results.get(s.id)!).filter(Boolean), state, ok };
}

async function runStep(step: Step, state: State, provider: Provider, store: StateWriter, newToken: () => string): Promise<void> {
  const { change } = step;
  const address = change.address;
  const started = new Date().toISOString();
  // Every provider call is announced by a pending record; a failure settles it, a success replaces it.
  const call = async <T>(pending: PendingOperation, work: () => Promise<T>): Promise<T> => {
    await store.record(state, { type: "pending", address, pending });
    try {
      return await work();
    } catch (err) {
      await store.record(state, { type: "settled", address });
      throw err;
    }
  };
  switch (step.operation) {
    case "create": {
      const inputs = resolveNow(change, state);
      if (state.resources[address] && change.action === "replace" && change.replaceOrder !== "delete-before-create") {
        await store.record(state, { type: "depose", address });
      }
      // A create left pending by a killed run is retried with its token: the backend returns what
      // that run made instead of making a second one.
      const earlier = state.pending[address];
      const token = earlier?.operation === "create" && earlier.token ? earlier.token : newToken();
      const created = await call({ operation: "create", kind: change.kind, token, inputs, dependsOn: change.dependsOn, secretPaths: change.secretPaths, started }, () =>
        provider.create(change.kind, inputs, { token, address, stack: state.stack, lineage: state.lineage, ...(change.secretPaths?.length ? { secretPaths: change.secretPaths } : {}) }),
      );
      await store.record(state, { type: "set", address, resource: record(change, created.id, inputs, created.outputs) });
      break;
    }
    case "update": {
      const prior = state.resources[address];
      if (!prior) throw new Error(`${address} is not in state`);
      const inputs = resolveNow(change, state);
      const outputs = await call({ operation: "update", kind: change.kind, id: prior.id, inputs, secretPaths: change.secretPaths, started }, () =>
        provider.update(change.kind, prior, inputs, change.action === "update-with-restart", { secretPaths: change.secretPaths ?? [] }),
      );
      await store.record(state, { type: "set", address, resource: record(change, prior.id, inputs, outputs) });
      break;
    }
    case "delete": {
      if (step.deposed) {
        const deposed = state.deposed.find((d) => d.address === address && (!change.deposedId || d.id === change.deposedId));
        if (!deposed) return; // nothing was deposed: the create half never ran
        await call({ operation: "delete", kind: deposed.kind, id: deposed.id, started }, () => provider.delete(deposed.kind, deposed));
        await store.record(state, { type: "remove-deposed", address, id: deposed.id });
      } else {
        const prior = state.resources[address];
        if (!prior) return;
        // retainOnDelete: virtform forgets the object; it stays in the backend, no longer tagged as the stack's.
        if (!prior.options?.retainOnDelete) {
          await call({ operation: "delete", kind: prior.kind, id: prior.id, started }, () => provider.delete(prior.kind, prior));
        } else await provider.setOwner?.(prior.kind, prior.id, null);
        await store.record(state, { type: "remove", address });
      }
      break;
    }
  }
}

/** protect and retainOnDelete matter after the program forgets them, so state keeps them current. */
async function recordOptionChanges(plan: Plan, state: State, store: StateWriter): Promise<void> {
  for (const change of plan.changes) {
    const prior = state.resources[change.address];
    if (change.action !== "noop" || !prior || prior.kind !== change.kind || !change.options) continue;
    const updated = record(change, prior.id, prior.inputs, prior.outputs);
    if (!deepEqual(updated.options, prior.options)) await store.record(state, { type: "set", address: change.address, resource: { ...prior, options: updated.options } });
  }
}

function record(change: ResourceChange, id: string, inputs: Record<string, Value>, outputs: Record<string, Value>): ResourceState {
  // Built field by field: this runs per step, and most resources have neither option.
  const protect = change.options?.protect;
  const retainOnDelete = change.options?.retainOnDelete;
  const options: { protect?: boolean; retainOnDelete?: boolean } = {};
  if (protect !== undefined) options.protect = protect;
  if (retainOnDelete !== undefined) options.retainOnDelete = retainOnDelete;
  return {
    kind: change.kind,
    id,
    inputs,
    outputs,
    dependsOn: change.dependsOn,
    ...(change.source ? { source: change.source } : {}),
    ...(protect !== undefined || retainOnDelete !== undefined ? { options } : {}),
    ...(change.secretPaths?.length ? { secretPaths: change.secretPaths } : {}),
  };
}

/** At apply time every dependency has been applied, so every reference has a value. */
function resolveNow(change: ResourceChange, state: State): Record<string, Value> {
  if (!change.template) throw new Error(`${change.address} has no desired inputs`);
  return resolveReferences(change.template, (ref) => lookup(ref, state));
}

function lookup(ref: Reference, state: State): Value {
  const target = state.resources[ref.$ref];
  if (!target) throw new Error(`reference to ${ref.$ref}.${ref.path}, which is not in state`);
  if (ref.path === "id") return target.id;
  const value = getPath(target.outputs, ref.path);
  return (value as Value | undefined) ?? null;
}

export function resolveOutputs(outputs: Record<string, Value | Reference>, state: State): Record<string, Value> {
  return resolveReferences(outputs, (ref) => (state.resources[ref.$ref] ? lookup(ref, state) : null)) as Record<string, Value>;
}
