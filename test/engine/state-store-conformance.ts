// The rules every state store keeps (as Terraform's statemgr.TestFull): what is recorded is read
// back, serial moves only with content, lineage stays, a commit equals its records, one lock holder
// at a time, and a saved plan is refused once state moved on. Run against each store by
// state-store.test.ts; a new store (PostgreSQL) adds one line there.
import { expect, it } from "vitest";
import type { ResourceState } from "../../core/model.ts";
import { checkNotStale, StalePlanError, type SavedPlan } from "../../engine/saved-plan.ts";
import type { State } from "../../engine/state.ts";
import { LockedError, type StateStore } from "../../engine/state-store.ts";

const volume = (id: string, sizeGiB = 1): ResourceState => ({ kind: "Volume", id, inputs: { sizeGiB }, outputs: {}, dependsOn: [] });

/** A plan saved against `state` as it is now (only what the staleness rule reads). */
function savedAgainst(state: State): SavedPlan {
  const { stack, lineage, serial } = state;
  const plan = { stack, lineage, serial, changes: [], outputs: {}, outputChanges: [] };
  return { $virtformPlan: 1, created: "", program: "p.ts", stack, lineage, serial, refreshOnly: false, refreshRecords: [], plan };
}

/** `fresh()` opens a store for stack "s" that holds nothing yet; `reopen(store)` the same state anew (another process). */
export function stateStoreConformance(fresh: () => StateStore, reopen: (store: StateStore) => StateStore): void {
  it("starts empty for its stack, at serial 0, with a lineage", async () => {
    const state = await fresh().load();
    expect(state).toMatchObject({ stack: "s", serial: 0, resources: {}, deposed: [], pending: {}, outputs: {} });
    expect(state.lineage).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("persists each record before it returns, with the lineage it began with", async () => {
    const store = fresh();
    const state = await store.load();
    await store.record(state, { type: "pending", address: "volume.a", pending: { operation: "create", kind: "Volume", token: "t1", started: "now" } });
    expect((await reopen(store).load()).pending["volume.a"]?.token).toBe("t1");
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") });
    const read = await reopen(store).load();
    expect(read).toEqual(state);
    expect(read.lineage).toBe(state.lineage);
    expect(read.serial).toBe(2);
  });

  it("bumps serial on every change of content and never on a record that changes nothing", async () => {
    const store = fresh();
    const state = await store.load();
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") });
    const serial = state.serial;
    const noops = [
      { type: "set", address: "volume.a", resource: volume("v1") },
      { type: "settled", address: "volume.a" },
      { type: "remove", address: "volume.gone" },
      { type: "depose", address: "volume.gone" },
      { type: "remove-deposed", address: "volume.a", id: "v9" },
      { type: "outputs", outputs: {} },
      { type: "move", from: "volume.gone", to: "volume.b" },
      { type: "lineage", lineage: state.lineage },
    ] as const;
    for (const record of noops) await store.record(state, record);
    expect(state.serial).toBe(serial);
    expect((await reopen(store).load()).serial).toBe(serial);
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1", 2) });
    await store.record(state, { type: "outputs", outputs: { size: 2 } });
    expect(state.serial).toBe(serial + 2);
    expect((await reopen(store).load()).serial).toBe(serial + 2);
  });

  it("commits a snapshot equal to the records it folds in, and a commit of unchanged state keeps its serial", async () => {
    const store = fresh();
    const state = await store.load();
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") });
    await store.record(state, { type: "move", from: "volume.a", to: "volume.b" });
    await store.commit(state);
    const read = await reopen(store).load();
    expect(read).toEqual(state);
    await reopen(store).commit(read);
    expect(await reopen(store).load()).toEqual(state);
  });

  it("does not share the state it hands out: a change not recorded is not persisted", async () => {
    const store = fresh();
    const state = await store.load();
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") });
    const read = await store.load();
    read.resources["volume.x"] = volume("vx");
    expect(Object.keys((await store.load()).resources)).toEqual(["volume.a"]);
  });

  it("lets one holder lock at a time, releases only its own lock, and force-unlocks by id", async () => {
    const store = fresh();
    const first = await store.lock("apply");
    expect(first.info.operation).toBe("apply");
    const refused = await reopen(store).lock("plan").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LockedError);
    expect((refused as LockedError).holder?.id).toBe(first.info.id);
    expect((refused as LockedError).message).toContain(`virtform force-unlock ${first.info.id}`);
    expect(() => store.forceUnlock("not-the-id")).toThrow(expect.objectContaining({ code: "lock-id-mismatch", message: expect.stringMatching(/not not-the-id; nothing was removed/) }));
    expect(store.forceUnlock(first.info.id).id).toBe(first.info.id);
    const second = await reopen(store).lock("plan");
    first.release(); // released after a force-unlock: the new holder keeps its lock
    await expect(store.lock("apply")).rejects.toBeInstanceOf(LockedError);
    second.release();
    second.release(); // twice is harmless
    expect(() => store.forceUnlock(second.info.id)).toThrow(expect.objectContaining({ code: "lock-not-held" }));
    (await store.lock("apply")).release();
  });

  it("waits for a lock up to the timeout", async () => {
    const store = fresh();
    const held = await store.lock("apply");
    setTimeout(() => held.release(), 30);
    const taken = await reopen(store).lock("plan", { timeoutMs: 2000 });
    expect(taken.info.operation).toBe("plan");
    taken.release();
  });

  it("refuses a saved plan once serial or lineage moved, and leaves the state it checks as it is", async () => {
    const store = fresh();
    const state = await store.load();
    // A plan made before the stack had state takes its lineage on; the check itself changes nothing.
    const early = { ...savedAgainst(state), lineage: "0ld-lineage" };
    const before = structuredClone(state);
    expect(checkNotStale(early, state, "p.tfplan")).toEqual([{ type: "lineage", lineage: "0ld-lineage" }]);
    expect(state).toEqual(before);
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") });
    const saved = savedAgainst(state);
    expect(checkNotStale(saved, await reopen(store).load(), "p.tfplan")).toEqual([]);
    await store.record(state, { type: "set", address: "volume.a", resource: volume("v1") }); // no change: still current
    expect(checkNotStale(saved, await reopen(store).load(), "p.tfplan")).toEqual([]);
    await store.record(state, { type: "remove", address: "volume.a" });
    expect(() => checkNotStale(saved, state, "p.tfplan")).toThrow(StalePlanError);
    expect(() => checkNotStale({ ...saved, serial: state.serial, lineage: "other" }, state, "p.tfplan")).toThrow(/state changed since p.tfplan/);
    expect(() => checkNotStale({ ...saved, stack: "t" }, state, "p.tfplan")).toThrow(/for stack t, not s/);
  });
}
