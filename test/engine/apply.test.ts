// The real engine (plan + step graph + walker + state saves) against a test provider made of
// function fields, as Pulumi's deploytest does: ordering, failure, skip and continue.
import { describe, expect, it } from "vitest";
import { applyPlan, planSteps } from "../../engine/apply.ts";
import type { ChangeBehaviour, DesiredResource, KindInfo, Reference, ReplaceOrder, Value } from "../../core/model.ts";
import { makePlan } from "../../engine/plan.ts";
import { refreshState } from "../../engine/refresh.ts";
import type { Provider } from "../../engine/provider.ts";
import { emptyState, type State } from "../../engine/state.ts";
import { MemoryStateStore } from "../../engine/state-memory.ts";

const kind = (name: string, replaceOrder: ReplaceOrder = "create-before-delete"): KindInfo => ({
  name,
  secrets: [],
  replaceOrder,
  changeBehaviour: (path: string): ChangeBehaviour => (path === "zone" || path === "parent" ? "replace" : path === "size" ? "restart" : "in-place"),
});
const kinds = new Map([["Thing", kind("Thing")], ["Fragile", kind("Fragile", "delete-before-create")]]);
const ref = (address: string): Reference => ({ $ref: address, path: "id" });

function thing(address: string, inputs: Record<string, Value>, dependsOn: string[] = [], k = "Thing"): DesiredResource {
  return { address, kind: k, inputs, dependsOn, options: {} };
}

/** What the fake world reports for an object: its inputs, and outputs derived as create derives them. */
function observed(inputs: Record<string, Value>) {
  return { inputs, outputs: { echo: inputs.name ?? null } };
}

/** A world of objects kept in a map, with hooks to make calls fail. */
function testProvider(failOn: (op: string, address: string) => boolean = () => false) {
  const objects = new Map<string, Record<string, Value>>();
  const log: string[] = [];
  let next = 1;
  const provider: Provider = {
    async create(_kind, inputs, { address }) {
      log.push(`create ${address}`);
      if (failOn("create", address)) throw new Error(`boom creating ${address}`);
      const id = `obj-${next++}`;
      objects.set(id, inputs);
      return { id, outputs: { echo: inputs.name ?? null } };
    },
    async read(_kind, id) {
      const inputs = objects.get(id);
      return inputs ? observed(inputs) : null;
    },
    async update(_kind, prior, inputs, restart) {
      log.push(`update${restart ? "+restart" : ""} ${prior.id}`);
      objects.set(prior.id, inputs);
      return { echo: inputs.name ?? null };
    },
    async delete(_kind, prior) {
      log.push(`delete ${prior.id}`);
      if (failOn("delete", prior.id)) throw new Error(`boom deleting ${prior.id}`);
      objects.delete(prior.id);
    },
  };
  return { provider, objects, log };
}

/** A provider whose creates take a turn of the event loop, recording how many ran at once. */
function concurrencyProbe() {
  let running = 0;
  let peak = 0;
  const provider: Provider = {
    ...testProvider().provider,
    async create(_k, inputs) {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return { id: String(inputs.name), outputs: {} };
    },
  };
  return { provider, peak: () => peak };
}

async function converge(state: State, desired: DesiredResource[], world: ReturnType<typeof testProvider>, parallelism = 4) {
  const plan = makePlan(state, desired, {}, { kinds });
  const store = new MemoryStateStore(state);
  const result = await applyPlan(plan, state, world.provider, store, { parallelism });
  return { plan, result, store };
}

describe("apply", () => {
  it("creates in dependency order and deletes in reverse", async () => {
    const world = testProvider();
    const state = emptyState("t");
    const desired = [
      thing("c", { name: "c", parent: ref("b") }, ["b"]),
      thing("b", { name: "b", parent: ref("a") }, ["a"]),
      thing("a", { name: "a" }),
    ];
    const { result, store } = await converge(state, desired, world, 1);
    expect(result.ok).toBe(true);
    expect(world.log).toEqual(["create a", "create b", "create c"]);
    // pending before each call, the result after it: two records a step, each persisted
    expect(store.records.map((r) => `${r.type} ${"address" in r ? r.address : ""}`)).toEqual(["pending a", "set a", "pending b", "set b", "pending c", "set c"]);
    expect((await store.load()).resources).toEqual(state.resources); // what was persisted is what apply holds
    expect(state.resources.c!.inputs.parent).toBe(state.resources.b!.id); // references resolved at apply
    world.log.length = 0;
    const ids = ["a", "b", "c"].map((a) => state.resources[a]!.id);
    await converge(state, [], world);
    expect(world.log).toEqual([`delete ${ids[2]}`, `delete ${ids[1]}`, `delete ${ids[0]}`]);
    expect(world.objects.size).toBe(0);
    expect(state.resources).toEqual({});
  });

  it("a failed step skips its dependents and independent work continues", async () => {
    const world = testProvider((op, address) => op === "create" && address === "b");
    const state = emptyState("t");
    const { result } = await converge(state, [
      thing("a", { name: "a" }),
      thing("b", { name: "b" }),
      thing("c", { name: "c", parent: ref("b") }, ["b"]),
      thing("d", { name: "d", parent: ref("c") }, ["c"]),
      thing("e", { name: "e", parent: ref("a") }, ["a"]),
    ], world);
    expect(result.ok).toBe(false);
    const status = Object.fromEntries(result.results.map((r) => [r.step.change.address, r.status]));
    expect(status).toEqual({ a: "done", b: "failed", c: "skipped", d: "skipped", e: "done" });
    expect(result.results.find((r) => r.status === "failed")!.error).toBe("boom creating b");
    expect(Object.keys(state.resources).sort()).toEqual(["a", "e"]);
    // The next run picks up where this one stopped.
    const retry = testProvider();
    retry.objects.clear();
    const again = await converge(state, [
      thing("a", { name: "a" }),
      thing("b", { name: "b" }),
      thing("c", { name: "c", parent: ref("b") }, ["b"]),
      thing("d", { name: "d", parent: ref("c") }, ["c"]),
      thing("e", { name: "e", parent: ref("a") }, ["a"]),
    ], retry);
    expect(again.plan.changes.filter((c) => c.action !== "noop").map((c) => c.address)).toEqual(["b", "c", "d"]);
  });

  it("restart and in-place updates reach the provider as such", async () => {
    const world = testProvider();
    const state = emptyState("t");
    await converge(state, [thing("a", { name: "a", size: 1 })], world);
    const id = state.resources.a!.id;
    world.log.length = 0;
    await converge(state, [thing("a", { name: "a2", size: 1 })], world);
    await converge(state, [thing("a", { name: "a2", size: 2 })], world);
    expect(world.log).toEqual([`update ${id}`, `update+restart ${id}`]);
  });

  it("create-before-delete replacement: the new object first, dependents moved, then the old one deleted", async () => {
    const world = testProvider();
    const state = emptyState("t");
    await converge(state, [thing("a", { zone: "x" }), thing("b", { parent: ref("a") }, ["a"])], world);
    const [oldA, oldB] = [state.resources.a!.id, state.resources.b!.id];
    world.log.length = 0;
    const { plan, result } = await converge(state, [thing("a", { zone: "y" }), thing("b", { parent: ref("a") }, ["a"])], world, 1);
    expect(plan.changes.map((c) => [c.address, c.action])).toEqual([["a", "replace"], ["b", "replace"]]);
    expect(result.ok).toBe(true);
    expect(world.log).toEqual(["create a", "create b", `delete ${oldB}`, `delete ${oldA}`]);
    expect(state.deposed).toEqual([]);
    expect(world.objects.size).toBe(2);
  });

  it("delete-before-create replacement deletes first", async () => {
    const world = testProvider();
    const state = emptyState("t");
    await converge(state, [thing("f", { zone: "x" }, [], "Fragile")], world);
    const old = state.resources.f!.id;
    world.log.length = 0;
    await converge(state, [thing("f", { zone: "y" }, [], "Fragile")], world);
    expect(world.log).toEqual([`delete ${old}`, "create f"]);
  });

  it("a failed delete of a deposed object leaves it in state for the next plan", async () => {
    const state = emptyState("t");
    const first = testProvider();
    await converge(state, [thing("a", { zone: "x" })], first);
    const old = state.resources.a!.id;
    const failing = testProvider((op, id) => op === "delete" && id === old);
    const { result } = await converge(state, [thing("a", { zone: "y" })], failing);
    expect(result.ok).toBe(false);
    expect(state.deposed.map((d) => d.id)).toEqual([old]);
    const plan = makePlan(state, [thing("a", { zone: "y" })], {}, { kinds });
    expect(plan.changes.map((c) => [c.address, c.action, c.deposedId ?? ""])).toEqual([["a", "noop", ""], ["a", "delete", old]]);
  });

  it("planSteps: an update waits for the deletes of its former dependents", () => {
    const state = emptyState("t");
    state.resources = {
      cluster: { kind: "Thing", id: "c1", inputs: { hosts: 4 }, outputs: {}, dependsOn: [] },
      vm: { kind: "Thing", id: "v1", inputs: { parent: "c1" }, outputs: {}, dependsOn: ["cluster"] },
    };
    const plan = makePlan(state, [thing("cluster", { hosts: 2 })], {}, { kinds });
    const steps = planSteps(plan);
    const update = steps.find((s) => s.id === "update:cluster")!;
    expect([...update.after]).toEqual(["delete:vm"]);
  });

  it("a cancel lets steps in flight finish, records them, and starts nothing new", async () => {
    const cancel = new AbortController();
    const base = testProvider();
    const provider: Provider = {
      ...base.provider,
      async create(kind, inputs, context) {
        if (context.address === "b") cancel.abort(); // Ctrl-C arrives while b is in flight
        return base.provider.create(kind, inputs, context);
      },
    };
    const state = emptyState("t");
    const plan = makePlan(state, [thing("a", { name: "a" }), thing("b", { name: "b" }, ["a"]), thing("c", { name: "c" }, ["b"]), thing("d", { name: "d" }, ["c"])], {}, { kinds });
    const result = await applyPlan(plan, state, provider, new MemoryStateStore(state), { parallelism: 1, signal: cancel.signal });
    const status = Object.fromEntries(result.results.map((r) => [r.step.change.address, r.status]));
    expect(status).toEqual({ a: "done", b: "done", c: "skipped", d: "skipped" });
    expect(Object.keys(state.resources).sort()).toEqual(["a", "b"]);
    expect(base.log).toEqual(["create a", "create b"]);
  });

  it("per-kind limits cap concurrent steps of a kind", async () => {
    const { provider, peak } = concurrencyProbe();
    const state = emptyState("t");
    const plan = makePlan(state, Array.from({ length: 8 }, (_, i) => thing(`r${i}`, { name: `r${i}` })), {}, { kinds });
    await applyPlan(plan, state, provider, new MemoryStateStore(state), { parallelism: 8, kindParallelism: { Thing: 2 } });
    expect(peak()).toBe(2);
  });

  it("refresh reads in one batch per kind when the provider can, and reports what changed or went", async () => {
    const world = testProvider();
    const state = emptyState("t");
    await converge(state, [thing("a", { name: "a" }), thing("b", { name: "b" }), thing("f", { zone: "x" }, [], "Fragile")], world);
    world.objects.delete(state.resources.b!.id);
    world.objects.set(state.resources.a!.id, { name: "a-changed" });
    const batches: string[] = [];
    const provider: Provider = {
      ...world.provider,
      async read() {
        throw new Error("single reads should not be used");
      },
      async readMany(kind, ids) {
        batches.push(`${kind}:${ids.length}`);
        return new Map(ids.flatMap((id) => (world.objects.has(id) ? [[id, observed(world.objects.get(id)!)]] : [])));
      },
    };
    const { drift, records } = await refreshState(state, provider);
    expect(batches.sort()).toEqual(["Fragile:1", "Thing:2"]);
    // f was read too and is as applied: no drift, no record.
    expect(drift.map((d) => [d.address, d.change])).toEqual([["a", "changed"], ["b", "deleted"]]);
    expect(records.map((r) => r.type)).toEqual(["set", "remove"]);
  });

  it("one at a time, steps start in the order they became ready, over thousands of steps", async () => {
    // Chains of three where each link waits for the one before. The oracle is the walker's rule
    // itself: a FIFO list of ready steps, dependents appended as their last dependency finishes.
    const desired: DesiredResource[] = [];
    for (let i = 0; i < 1200; i++) {
      desired.push(thing(`c${i}-0`, { name: `c${i}-0` }));
      for (let d = 1; d < 3; d++) desired.push(thing(`c${i}-${d}`, { name: `c${i}-${d}`, parent: ref(`c${i}-${d - 1}`) }, [`c${i}-${d - 1}`]));
    }
    const world = testProvider();
    const state = emptyState("t");
    const plan = makePlan(state, desired, {}, { kinds });
    const result = await applyPlan(plan, state, world.provider, new MemoryStateStore(state), { parallelism: 1 });
    expect(result.ok).toBe(true);
    const ready = desired.filter((r) => r.dependsOn.length === 0).map((r) => r.address);
    const expected: string[] = [];
    while (ready.length > 0) {
      const address = ready.shift()!;
      expected.push(`create ${address}`);
      const [chain, link] = address.split("-");
      if (Number(link) < 2) ready.push(`${chain}-${Number(link) + 1}`);
    }
    expect(world.log).toEqual(expected);
  });

  it("respects parallelism", async () => {
    const { provider: slow, peak } = concurrencyProbe();
    const state = emptyState("t");
    const desired = Array.from({ length: 12 }, (_, i) => thing(`r${i}`, { name: `r${i}` }));
    const plan = makePlan(state, desired, {}, { kinds });
    await applyPlan(plan, state, slow, new MemoryStateStore(state), { parallelism: 3 });
    expect(peak()).toBe(3);
    expect(Object.keys(state.resources)).toHaveLength(12);
  });
});
