// The engine's operations (operations/) called as the CLI, the Pulumi host and review call them: a
// program's desired resources, a state store (the memory store) and a real provider (the embedded
// emulator). They print nothing and return what a renderer shows; refusals are typed.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LockedError } from "../../engine/state-store.ts";
import { MemoryStateStore } from "../../engine/state-memory.ts";
import { apply, destroy } from "../../operations/apply.ts";
import type { DesiredProgram, OperationContext, OperationEvent } from "../../operations/context.ts";
import { importObjects } from "../../operations/import.ts";
import { OperationError } from "../../operations/operation-error.ts";
import { plan, rejected } from "../../operations/plan.ts";
import { EmbeddedBackend } from "../../provider/embedded-backend.ts";
import { VirtformProvider } from "../../provider/virtform-provider.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack } from "../../sdk/index.ts";
import { kindsByPrefix } from "../../sdk/kinds/index.ts";
import { makeWorkdir } from "../helpers/cli.ts";

function program(volumeGiB = 10): DesiredProgram {
  const evaluated = evaluateStack(
    stack("ops", (s) => {
      const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 100 }] });
      const data = pool.volume("data", { sizeGiB: volumeGiB });
      return { volume: data.id };
    }),
  );
  expect(evaluated.diagnostics).toEqual([]);
  return { stack: evaluated.name, resources: evaluated.resources, outputs: evaluated.outputs, secretOutputs: evaluated.secretOutputs };
}

let backend: EmbeddedBackend;
let written: string[];

beforeEach(() => {
  backend = EmbeddedBackend.open(makeWorkdir("virtform-ops-"));
  written = [];
  // Operations print nothing: any write to stdout or stderr while one runs is a failure.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
});

afterEach(async () => {
  vi.restoreAllMocks();
  await backend.emulator.close();
  expect(written).toEqual([]);
});

function context(store = new MemoryStateStore("ops")) {
  const events: OperationEvent[] = [];
  const ctx: OperationContext = { store, provider: () => new VirtformProvider(backend), onEvent: (e) => events.push(e) };
  return { ctx, store, events };
}

const approveAll = { encryptsSecrets: false, approve: async () => undefined };

describe("operations", () => {
  it("plan, apply and destroy return the plan, capacity and result, tell steps as events, and keep the lock only while they run", async () => {
    const { ctx, store, events } = context();
    const planned = await plan(ctx, program());
    expect(planned.plan.changes.map((c) => [c.address, c.action])).toEqual([
      ["pool.p", "create"],
      ["volume.data", "create"],
    ]);
    expect(rejected(planned)).toBe(false);
    expect(planned.capacity.length).toBeGreaterThan(0);
    expect(store.records).toEqual([]); // a plan records nothing

    const approve = vi.fn(async () => undefined);
    const applied = await apply(ctx, program(), { ...approveAll, approve });
    expect(approve).toHaveBeenCalledTimes(1);
    expect(applied.result?.ok).toBe(true);
    expect(events.filter((e) => e.type === "step-end")).toHaveLength(2);
    const state = await store.load();
    expect(Object.keys(state.resources).sort()).toEqual(["pool.p", "volume.data"]);
    expect(state.outputs.volume).toBe(state.resources["volume.data"]!.id);

    const again = await plan(ctx, program());
    expect(again.plan.changes.every((c) => c.action === "noop")).toBe(true);

    const destroyed = await destroy(ctx, { ...program(), resources: [] }, approveAll);
    expect(destroyed.result?.ok).toBe(true);
    expect((await store.load()).resources).toEqual({});
    (await store.lock("check")).release(); // every operation let the lock go
  });

  it("returns a plan the rehearsal refuses with its problems, and never asks to approve it", async () => {
    const { ctx, store } = context();
    const approve = vi.fn(async () => undefined);
    const applied = await apply(ctx, program(100_000), { ...approveAll, approve });
    expect(approve).not.toHaveBeenCalled();
    expect(applied.result).toBeUndefined();
    expect(rejected(applied)).toBe(true);
    expect(applied.diagnostics.find((d) => d.severity === "error")).toMatchObject({ address: "volume.data" });
    expect(store.records).toEqual([]);
  });

  it("changes nothing when approval is refused", async () => {
    const { ctx, store } = context();
    const refusal = new Error("apply cancelled");
    await expect(apply(ctx, program(), { ...approveAll, approve: async () => Promise.reject(refusal) })).rejects.toBe(refusal);
    expect(store.records).toEqual([]);
    expect(await new VirtformProvider(backend).listOwned("ops")).toEqual([]); // the backend holds nothing of the stack
    (await store.lock("check")).release();
  });

  it("refuses, typed, a program holding secrets when state cannot encrypt them, and a locked stack", async () => {
    const { ctx, store } = context();
    const secretOutput = { ...program(), secretOutputs: ["volume"] };
    await expect(apply(ctx, secretOutput, approveAll)).rejects.toMatchObject({ code: "secrets-need-passphrase", layer: "operation" });
    const held = await store.lock("apply");
    await expect(plan(ctx, program())).rejects.toBeInstanceOf(LockedError);
    held.release();
  });

  it("refuses to create again what the backend holds for a stack whose state was lost", async () => {
    await apply(context().ctx, program(), approveAll);
    const lost = context(); // a new, empty state over the same backend
    const refusal = await plan(lost.ctx, program()).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(OperationError);
    expect(refusal).toMatchObject({ code: "lost-objects" });
    // Allowed, it goes ahead and says what it found as a warning event.
    await plan(lost.ctx, program(), { allowDuplicates: true });
    expect(lost.events.find((e) => e.type === "warning")).toBeDefined();
  });

  it("imports a sound batch, and nothing of a batch with a problem", async () => {
    const made = context();
    await apply(made.ctx, program(), approveAll);
    const poolId = (await made.store.load()).resources["pool.p"]!.id;
    // State lost: the pool is imported into a new state for the same program.
    const { ctx, store } = context();
    const options = { programPath: "infra.ts", kindsByPrefix, others: () => [] };
    await expect(importObjects(ctx, program(), [{ address: "pool.p", id: poolId }, { address: "pool.q", id: poolId }], options)).rejects.toMatchObject({
      code: "import-refused",
    });
    expect(store.records).toEqual([]);
    const records = await importObjects(ctx, program(), [{ address: "pool.p", id: poolId }], options);
    expect(records.map((r) => r.type)).toEqual(["set"]);
    expect((await store.load()).resources["pool.p"]?.id).toBe(poolId);
  });

  it("records the dependencies the program declares for what it imports, so a destroy deletes in order", async () => {
    const made = context();
    await apply(made.ctx, program(), approveAll);
    const before = await made.store.load();
    // State lost: both objects imported into a new state for the same program.
    const { ctx, store } = context();
    const options = { programPath: "infra.ts", kindsByPrefix, others: () => [] };
    const ids = { pool: before.resources["pool.p"]!.id, volume: before.resources["volume.data"]!.id };
    await importObjects(ctx, program(), [{ address: "volume.data", id: ids.volume }, { address: "pool.p", id: ids.pool }], options);
    const imported = await store.load();
    expect(imported.resources["volume.data"]?.dependsOn).toEqual(["pool.p"]);
    expect(imported.resources["pool.p"]?.dependsOn).toEqual([]);
    // Without the dependency the destroy would delete the pool while it still holds the volume.
    const destroyed = await destroy(ctx, { ...program(), resources: [] }, approveAll);
    expect(destroyed.result?.ok).toBe(true);
    expect(await backend.get("Volume", ids.volume)).toBeNull();
    expect(await backend.get("StoragePool", ids.pool)).toBeNull();
  });
});
