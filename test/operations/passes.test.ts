// A program known in passes (a Pulumi program whose other resources wait for outputs): a partial
// program plans only what it knows, deletes nothing and keeps unknown outputs as recorded; apply and
// plan ask for the next pass under the same lock. Memory state store, the embedded emulator.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UNKNOWN } from "../../core/model.ts";
import { MemoryStateStore } from "../../engine/state-memory.ts";
import { apply } from "../../operations/apply.ts";
import type { DesiredProgram, OperationContext } from "../../operations/context.ts";
import { plan } from "../../operations/plan.ts";
import { EmbeddedBackend } from "../../provider/embedded-backend.ts";
import { VirtformProvider } from "../../provider/virtform-provider.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack } from "../../sdk/index.ts";
import { makeWorkdir } from "../helpers/cli.ts";

/** pool p, volume a, and (when given) volume b of `bGiB`; outputs aId and extra. */
function program(bGiB?: number, extra: DesiredProgram["outputs"][string] = "x"): DesiredProgram {
  const evaluated = evaluateStack(
    stack("passes", (s) => {
      const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 100 }] });
      const a = pool.volume("a", { sizeGiB: 1 });
      if (bGiB !== undefined) pool.volume("b", { sizeGiB: bGiB });
      return { aId: a.id };
    }),
  );
  return { stack: evaluated.name, resources: evaluated.resources, outputs: { ...evaluated.outputs, extra }, secretOutputs: [] };
}

let backend: EmbeddedBackend;
beforeEach(() => {
  backend = EmbeddedBackend.open(makeWorkdir("virtform-passes-"));
});
afterEach(async () => {
  await backend.emulator.close();
});

const context = (store: MemoryStateStore): OperationContext => ({ store, provider: () => new VirtformProvider(backend) });
const partial = (p: DesiredProgram): DesiredProgram => ({ ...p, partial: p.resources.map((r) => r.address) });

describe("a program known in passes", () => {
  it("plans a partial program without deleting what it does not know, keeps unknown outputs as recorded, and applies the next pass under the same lock", async () => {
    const store = new MemoryStateStore("passes");
    const first = await apply(context(store), program(5), { encryptsSecrets: false, approve: async () => undefined });
    expect(first.result?.ok).toBe(true);

    // b is deferred (left out), extra unknown: nothing is deleted, extra keeps "x".
    const pass1 = partial(program(undefined, UNKNOWN as never));
    const planned = await plan(context(store), pass1);
    expect(planned.plan.changes.filter((c) => c.action !== "noop")).toEqual([]);
    expect(planned.plan.outputChanges).toEqual([]);

    // The next pass knows b again, grown: one update, asked for once pass 1 is carried out.
    const seen: string[] = [];
    const applied = await apply(context(store), pass1, {
      encryptsSecrets: false,
      approve: async (p) => void seen.push(p.plan.changes.filter((c) => c.action !== "noop").map((c) => `${c.action} ${c.address}`).join(",")),
      nextPass: async () => {
        // Still under apply's lock between passes.
        await expect(store.lock("probe")).rejects.toThrow(/lock/i);
        return seen.length === 1 ? program(6, "y") : undefined;
      },
    });
    expect(seen).toEqual(["", "update volume.b"]);
    expect(applied.result?.ok).toBe(true);
    const state = await store.load();
    expect(state.outputs).toMatchObject({ extra: "y" });
    expect(Object.keys(state.resources).sort()).toEqual(["pool.p", "volume.a", "volume.b"]);
  });

  it("plan asks for the next pass until there is none, and shows the last", async () => {
    const store = new MemoryStateStore("passes");
    await apply(context(store), program(5), { encryptsSecrets: false, approve: async () => undefined });
    let asked = 0;
    const planned = await plan(context(store), partial(program()), { nextPass: async () => (++asked === 1 ? program(7) : undefined) });
    expect(asked).toBe(2);
    expect(planned.plan.changes.filter((c) => c.action !== "noop").map((c) => `${c.action} ${c.address}`)).toEqual(["update volume.b"]);
  });

  it("replaces what --replace names once, in the pass that plans it, not again in later passes", async () => {
    const store = new MemoryStateStore("passes");
    await apply(context(store), program(5), { encryptsSecrets: false, approve: async () => undefined });
    const seen: string[] = [];
    const applied = await apply(context(store), partial(program(5)), {
      encryptsSecrets: false,
      replace: ["volume.a"],
      approve: async (p) => void seen.push(p.plan.changes.filter((c) => c.action !== "noop").map((c) => `${c.action} ${c.address}`).join(",")),
      nextPass: async () => (seen.length === 1 ? program(5) : undefined),
    });
    expect(applied.result?.ok).toBe(true);
    expect(seen).toEqual(["replace volume.a", ""]);
  });

  it("a later pass that is declined stops the apply with what the earlier passes did, marked failed", async () => {
    const store = new MemoryStateStore("passes");
    await apply(context(store), program(5), { encryptsSecrets: false, approve: async () => undefined });
    let passes = 0;
    const applied = await apply(context(store), partial(program(6)), {
      encryptsSecrets: false,
      approve: async () => {
        if (++passes === 2) throw new Error("the user said no");
      },
      nextPass: async () => program(7),
    });
    expect(applied.stopped).toMatchObject({ pass: 2, error: { message: "the user said no" } });
    expect(applied.result?.ok).toBe(false);
    expect(applied.result?.results.map((r) => `${r.status} ${r.step.operation} ${r.step.change.address}`)).toEqual(["done update volume.b"]);
    expect((await store.load()).resources["volume.b"]?.inputs).toMatchObject({ sizeGiB: 6 });
  });

  it("keeps an output recorded secret sealed while a partial program does not know it yet", async () => {
    const store = new MemoryStateStore("passes");
    await apply(context(store), { ...program(5, "s3cret"), secretOutputs: ["extra"] }, { encryptsSecrets: true, approve: async () => undefined });
    expect((await store.load()).secretOutputs).toEqual(["extra"]);
    // Pass 1 of a program whose output `extra` is computed from an output not known yet, and b grown.
    const applied = await apply(context(store), partial(program(6, UNKNOWN as never)), { encryptsSecrets: true, approve: async () => undefined });
    expect(applied.result?.ok).toBe(true);
    const state = await store.load();
    expect(state.outputs).toMatchObject({ extra: "s3cret" });
    expect(state.secretOutputs).toEqual(["extra"]);
  });
});

