// planAdoption (state recover) and checkLostObjects (plan) as pure functions over a state and the
// objects a backend holds for the stack.
import { describe, expect, it } from "vitest";
import { planAdoption as plannedAdoption } from "../../engine/adopt.ts";
import { checkLostObjects, unrecordedOf } from "../../engine/lost-objects.ts";
import type { Plan } from "../../engine/plan.ts";
import type { Owned } from "../../engine/provider.ts";
import { emptyState, type State } from "../../engine/state.ts";

const owned = (kind: string, id: string, address: string, inputs: Owned["inputs"] = {}, lineage = "old"): Owned => ({
  kind,
  id,
  inputs,
  outputs: {},
  owner: { stack: "s", lineage, address },
});
const pool = owned("StoragePool", "pool-1", "pool.p");
const volume = owned("Volume", "vol-1", "volume.v", { pool: "pool-1", sizeGiB: 1 });

/** As state recover calls it: every object the backend holds for the stack, and those state lacks. */
const planAdoption = (state: State, owned: Owned[]) => plannedAdoption(state, owned, unrecordedOf(state, owned));

function stateWith(resources: Record<string, { kind: string; id: string }>, lineage = "new"): State {
  const state = emptyState("s");
  state.lineage = lineage;
  for (const [address, r] of Object.entries(resources)) state.resources[address] = { ...r, inputs: {}, outputs: {}, dependsOn: [] };
  return state;
}

describe("planAdoption", () => {
  it("adopts unrecorded objects at their addresses, with dependencies read off ids, and the objects' lineage for a new state", () => {
    const adoption = planAdoption(stateWith({}), [pool, volume]);
    expect(adoption.adopted.map((o) => o.id)).toEqual(["pool-1", "vol-1"]);
    expect(adoption.lineage).toBe("old");
    expect(adoption.records[0]).toEqual({ type: "lineage", lineage: "old" });
    const set = adoption.records.find((r) => r.type === "set" && r.address === "volume.v");
    expect(set).toMatchObject({ resource: { kind: "Volume", id: "vol-1", dependsOn: ["pool.p"], inputs: { pool: "pool-1" } } });
  });

  it("keeps state's lineage when the backend holds objects of it", () => {
    const adoption = planAdoption(stateWith({ "pool.p": pool }, "old2"), [{ ...pool, owner: { ...pool.owner, lineage: "old2" } }, volume]);
    expect(adoption.lineage).toBeUndefined();
    expect(adoption.adopted.map((o) => o.id)).toEqual(["vol-1"]);
    expect(adoption.records[0]).toMatchObject({ type: "set", resource: { dependsOn: ["pool.p"] } });
  });

  it.each([
    ["an address state already holds with another object", stateWith({ "pool.p": { kind: "StoragePool", id: "pool-9" } }), [pool], /state has pool.p as pool-9 already/],
    ["two objects claiming one address", stateWith({}), [pool, { ...pool, id: "pool-2" }], /2 objects claim pool.p \(pool-1, pool-2\): import the one to keep/],
  ])("leaves alone %s", (_what, state, objects, reason) => {
    const adoption = planAdoption(state, objects);
    expect(adoption.adopted).toEqual([]);
    expect(adoption.skipped).toHaveLength(objects.length);
    for (const { reason: why } of adoption.skipped) expect(why).toMatch(reason);
  });
});

describe("checkLostObjects", () => {
  const plan = (creates: readonly (readonly [string, string])[]): Plan => ({
    stack: "s",
    lineage: "new",
    serial: 0,
    outputs: {},
    changes: creates.map(([kind, address]) => ({ address, kind, action: "create", reason: "new", reasonText: "", fields: [], before: null, after: {}, dependsOn: [], priorDependsOn: [] }) as unknown as Plan["changes"][number]),
  });
  it.each([
    ["nothing lost", [], [["StoragePool", "pool.p"]], false, {}],
    ["lost objects the plan creates again: refused", [pool, volume], [["StoragePool", "pool.p"]], false, { refuse: /holds 2 objects of stack s that state does not .*create 1 of their addresses again/s }],
    ["the same, allowed", [pool], [["StoragePool", "pool.p"]], true, { warn: /--allow-duplicates/ }],
    ["lost objects the plan does not create: a warning", [pool], [], false, { warn: /holds 1 object of stack s that state does not .*; `virtform state recover` adopts them into state$/ }],
  ] as const)("%s", (_what, lost, creates, allow, expected) => {
    const result = checkLostObjects(stateWith({}), plan(creates), lost, allow);
    expect(Object.keys(result)).toEqual(Object.keys(expected));
    for (const [key, pattern] of Object.entries(expected)) expect(result[key as "warn"]).toMatch(pattern as RegExp);
  });
  it("says that copies of addresses state holds cannot be adopted", () => {
    const state = stateWith({ "pool.p": { kind: "StoragePool", id: "pool-9" } });
    expect(checkLostObjects(state, plan([]), [pool, volume], false).warn).toMatch(/`virtform state recover` adopts 1 into state; 1 of them duplicate addresses state holds: to delete one/);
  });
});
