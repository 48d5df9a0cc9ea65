// The engine's safety features through the CLI on the embedded emulator: locks, drift, saved plans,
// import, state edits, lifecycle options, targeting, renderers. Commands run in process
// (test/helpers/in-process.ts), what the binary does without a process per call; the binary itself
// proves a refusal's exit code and a plan's source lines.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, runCli, writeProgram, type CliResult } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

function program(opts: { size?: number; count?: number; volumeOptions?: string; extra?: string } = {}): string {
  return `import { stack } from "virtform";
export default stack("trust", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 1000 }] });
  const img = s.image("app", { base: "debian-12", variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 0 } });
  const app = web.instances("app", { count: ${opts.count ?? 2}, image: img.variant("light"), vcpu: 2, memoryGiB: 4 });
  const data = pool.volume("data", { sizeGiB: ${opts.size ?? 10} }${opts.volumeOptions ? `, ${opts.volumeOptions}` : ""});
  ${opts.extra ?? ""}
  return { data: data.id };
});
`;
}

interface JsonPlan {
  changes: { address: string; action: string; fields: { path: string; before: unknown; after: unknown }[] }[];
  resource_drift: { address: string; change: string; fields: { path: string; before: unknown; after: unknown }[] }[];
}

function idOf(dir: string, address: string): string {
  const state = JSON.parse(readFileSync(join(dir, ".virtform/state/trust.json"), "utf8")) as { resources: Record<string, { id: string }> };
  return state.resources[address]!.id;
}

describe("state lock", () => {
  it("a second run fails fast naming the holder; --lock-timeout waits; force-unlock removes it", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    // Hold the lock from a live process, as a concurrent apply would.
    const lockFile = join(dir, ".virtform/state/trust.lock");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    writeFileSync(lockFile, JSON.stringify({ id: "lock-1", operation: "apply", who: "alice@ci", pid: holder.pid, host: (await import("node:os")).hostname(), created: "2026-11-24T00:00:00Z", version: 1 }));
    try {
      const blocked = await runCli(dir, ["plan"]); // the binary: its exit code and stderr
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain(`state is locked by alice@ci (pid ${holder.pid}`);
      expect(blocked.stderr).toContain("for apply since 2026-11-24T00:00:00Z");
      expect(blocked.stderr).toContain("virtform force-unlock lock-1");
      expect(blocked.stderr).not.toMatch(/this is a bug|\n\s+at /); // a typed refusal: no trace
      const started = Date.now();
      const waited = await runInProcess(dir, ["plan", "--lock-timeout", "1s"]);
      expect(waited.code).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      const wrongId = await runInProcess(dir, ["force-unlock", "nope"]);
      expect(wrongId.code).toBe(1);
      expect(wrongId.stderr).toContain("the lock's id is lock-1, not nope");
      expect(wrongId.stderr).not.toMatch(/this is a bug|\n\s+at /);
      ok(await runInProcess(dir, ["force-unlock", "lock-1"]));
      expect(existsSync(lockFile)).toBe(false);
      ok(await runInProcess(dir, ["plan"]));
    } finally {
      holder.kill();
    }
  });

  it("a lock left by a dead process is reported as stale and taken over", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => dead.on("exit", r));
    writeFileSync(join(dir, ".virtform/state/trust.lock"), JSON.stringify({ id: "old", operation: "apply", who: "bob", pid: dead.pid, host: (await import("node:os")).hostname(), created: "2026-11-24T00:00:00Z", version: 1 }));
    const result = ok(await runInProcess(dir, ["plan"]));
    expect(result.stderr).toContain(`took over a stale state lock old left by pid ${dead.pid}`);
  });
});

describe("refresh and drift", () => {
  it("shows changes and deletions made outside virtform, and plans to bring them back", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    // Another tool changes the emulator behind virtform's back.
    const emulator = Emulator.open(join(dir, ".virtform/emulator"));
    const volumeId = idOf(dir, "volume.data");
    const volume = emulator.get("Volume", volumeId)!;
    emulator.update("Volume", volumeId, { ...volume.spec, sizeGiB: 20, deleteProtection: true }, { restart: false });
    emulator.delete("Instance", idOf(dir, "instances.web/app[1]"));
    await emulator.close?.();

    const text = (await runInProcess(dir, ["plan"])).stdout;
    expect(text).toContain("Objects changed outside virtform since the last apply:");
    expect(text).toContain("~ volume.data was changed outside virtform");
    expect(text).toContain("~ sizeGiB: 10 -> 20");
    expect(text).toContain("~ deleteProtection: false -> true");
    // The program still says 10 GiB: volumes never shrink, and the plan says so before any apply.
    const refused = await runInProcess(dir, ["apply", "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("volume.data: update would fail: volume volume.data cannot shrink from 20 GiB to 10 GiB");
    writeProgram(dir, program({ size: 20 }));
    expect(text).toContain("- instances.web/app[1] was deleted outside virtform");
    const plan = JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as JsonPlan;
    expect(plan.resource_drift.map((d) => [d.address, d.change])).toEqual([
      ["instances.web/app[1]", "deleted"],
      ["volume.data", "changed"],
    ]);
    const changes = Object.fromEntries(plan.changes.map((c) => [c.address, c.action]));
    expect(changes["instances.web/app[1]"]).toBe("create");
    expect(changes["volume.data"]).toBe("update"); // deleteProtection back to false

    const noRefresh = JSON.parse(ok(await runInProcess(dir, ["plan", "--json", "--no-refresh"])).stdout) as JsonPlan;
    // Without refresh the plan trusts state: it knows of no deletion and still sees 10 GiB.
    expect(noRefresh.changes.map((c) => [c.address, c.action])).toEqual([["volume.data", "update"]]);
    expect(noRefresh.resource_drift).toEqual([]);

    // refresh-only records what is, and plans nothing.
    ok(await runInProcess(dir, ["refresh"]));
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).not.toContain("instances.web/app[1]");
    const shown = JSON.parse(ok(await runInProcess(dir, ["state", "show", "volume.data", "--json"])).stdout) as { inputs: { sizeGiB: number } };
    expect(shown.inputs.sizeGiB).toBe(20);
    ok(await runInProcess(dir, ["apply", "--yes"]));
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("saved plans", () => {
  it("applies exactly the saved plan, and refuses it once state moved on", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["plan", "--out", "first.plan"]));
    // The program changes after the plan was saved: the saved plan still applies what it said.
    writeProgram(dir, program({ count: 3 }));
    const applied = ok(await runInProcess(dir, ["apply", "first.plan"]));
    expect(applied.stdout).toContain("Apply complete: 6 created");
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).not.toContain("instances.web/app[2]");

    ok(await runInProcess(dir, ["plan", "--out", "second.plan"]));
    writeProgram(dir, program({ count: 3, size: 12 }));
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const stale = await runInProcess(dir, ["apply", "second.plan"]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("saved plan is stale: state changed since second.plan was made");
  });
});

describe("import and state edits", () => {
  it("state rm forgets, import adopts, state mv renames", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const volumeId = idOf(dir, "volume.data");
    ok(await runInProcess(dir, ["state", "rm", "volume.data"]));
    const orphan = ok(await runInProcess(dir, ["plan", "--json"]));
    expect(orphan.stderr).not.toContain("the backend holds"); // forgotten on purpose: let go of in the backend too, not lost
    const orphanPlan = JSON.parse(orphan.stdout) as JsonPlan;
    expect(orphanPlan.changes.map((c) => [c.address, c.action])).toEqual([["volume.data", "create"]]);
    const missing = await runInProcess(dir, ["import", "volume.data", "vol-ffffff"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("volume.data: no Volume vol-ffffff in the backend");
    const imported = ok(await runInProcess(dir, ["import", "volume.data", volumeId]));
    expect(imported.stdout).toContain(`Imported ${volumeId} as volume.data.`);
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    ok(await runInProcess(dir, ["state", "mv", "volume.data", "volume.renamed"]));
    writeProgram(dir, program().replace('pool.volume("data"', 'pool.volume("renamed"'));
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
    const wrongKind = await runInProcess(dir, ["state", "mv", "volume.renamed", "cluster.renamed"]);
    expect(wrongKind.stderr).toContain("cluster.renamed names a Cluster resource, but volume.renamed is a Volume");
  });

  it("refuses an undeclared address and an object this stack or another stack manages, checking every line first", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    writeProgram(dir, `import { stack } from "virtform";
export default stack("other", (s) => {
  s.storagePool("q", { media: "hdd", devices: [{ sizeGiB: 100 }] }).volume("logs", { sizeGiB: 5 });
});
`, "other.ts");
    ok(await runInProcess(dir, ["apply", "other.ts", "--yes"]));
    const dataId = idOf(dir, "volume.data");
    const poolId = idOf(dir, "pool.p");
    const logsId = (JSON.parse(readFileSync(join(dir, ".virtform/state/other.json"), "utf8")) as { resources: Record<string, { id: string }> }).resources["volume.logs"]!.id;

    // The issue's reproduction: this used to answer "Imported", and the next apply deleted the volume.
    const undeclared = await runInProcess(dir, ["import", "volume.foo", dataId]);
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toContain("volume.foo: configuration for import target does not exist: infra.ts declares no volume.foo");

    ok(await runInProcess(dir, ["state", "rm", "pool.p", "--stack", "trust"]));
    writeProgram(dir, program({ extra: 'pool.volume("foo", { sizeGiB: 10 }); pool.volume("bar", { sizeGiB: 5 });' }));
    writeFileSync(
      join(dir, "imports.txt"),
      [`pool.p ${poolId}`, `volume.foo ${dataId}`, `volume.bar ${logsId}`, "volume.nope vol-000001", "volume.x too many words"].join("\n"),
    );
    const batch = await runInProcess(dir, ["import", "--from", "imports.txt"]);
    expect(batch.code).toBe(1);
    expect(batch.stderr).toContain("nothing was imported");
    expect(batch.stderr).toContain(`imports.txt:2: ${dataId} is already managed by this stack as volume.data`);
    expect(batch.stderr).toContain(`imports.txt:3: ${logsId} is managed by stack "other" as volume.logs`);
    expect(batch.stderr).toContain("imports.txt:4: volume.nope: configuration for import target does not exist");
    expect(batch.stderr).toContain('imports.txt:5: expected "ADDRESS ID"');
    expect(batch.stderr).not.toContain("imports.txt:1");
    // The sound first line was not imported either.
    expect(() => idOf(dir, "pool.p")).toThrow();
    ok(await runInProcess(dir, ["import", "pool.p", poolId]));
    expect(idOf(dir, "pool.p")).toBe(poolId);
  });

  it("bulk import from a file", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const ids = ["volume.data", "pool.p"].map((a) => [a, idOf(dir, a)]);
    ok(await runInProcess(dir, ["state", "rm", "volume.data", "pool.p"]));
    writeFileSync(join(dir, "imports.txt"), `# address id\n${ids.map(([a, i]) => `${a} ${i}`).join("\n")}\n`);
    ok(await runInProcess(dir, ["import", "--from", "imports.txt"]));
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("lifecycle options", () => {
  it("protect refuses deletion and replacement of the protected resource only", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program({ volumeOptions: "{ protect: true }" }));
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const replace = await runInProcess(dir, ["plan", "--replace", "volume.data"]);
    expect(replace.code).toBe(1);
    expect(replace.stderr).toContain("volume.data: resource is protected and cannot be replaced");
    const destroy = await runInProcess(dir, ["destroy", "--yes"]);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain("volume.data: destroy would delete protected volume.data");
    expect(destroy.stderr).not.toContain("no longer in the program");
    // A targeted destroy of something else is not the protected volume's business.
    const targeted = ok(await runInProcess(dir, ["destroy", "--yes", "--target", "instances.web/app"]));
    expect(targeted.stdout).toContain("2 deleted");
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout.trim().split("\n")).toEqual(["cluster.web", "image.app", "pool.p", "volume.data"]);
  });

  it("ignoreChanges keeps the applied value; replaceOnChanges replaces; retainOnDelete forgets", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program({ volumeOptions: '{ ignoreChanges: ["sizeGiB"] }' }));
    ok(await runInProcess(dir, ["apply", "--yes"]));
    writeProgram(dir, program({ size: 50, volumeOptions: '{ ignoreChanges: ["sizeGiB"] }' }));
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    writeProgram(dir, program({ size: 50, volumeOptions: '{ replaceOnChanges: ["sizeGiB"] }' }));
    const plan = JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as JsonPlan;
    expect(plan.changes.map((c) => [c.address, c.action])).toEqual([["volume.data", "replace"]]);
    const oldId = idOf(dir, "volume.data");
    ok(await runInProcess(dir, ["apply", "--yes"]));
    expect(idOf(dir, "volume.data")).not.toBe(oldId);

    writeProgram(dir, program({ size: 50, volumeOptions: "{ retainOnDelete: true }" }));
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const kept = idOf(dir, "volume.data");
    writeProgram(dir, program().replace(/const data = pool.volume[^\n]*\n/, "").replace("return { data: data.id }", "return {}"));
    ok(await runInProcess(dir, ["apply", "--yes"]));
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).not.toContain("volume.data");
    const emulator = JSON.parse(ok(await runInProcess(dir, ["emulator", "inspect", "--json"])).stdout) as { volumes: Record<string, { tags?: object }> };
    expect(Object.keys(emulator.volumes)).toContain(kept);
    expect(emulator.volumes[kept]!.tags).toBeUndefined(); // no longer the stack's: not reported as lost state
  });

  it("--target plans a resource and what it depends on; --replace forces a replacement", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    const targeted = JSON.parse(ok(await runInProcess(dir, ["plan", "--json", "--target", "instances.web/app[0]"])).stdout) as JsonPlan;
    expect(targeted.changes.map((c) => c.address).sort()).toEqual(["cluster.web", "image.app", "instances.web/app[0]"]);
    ok(await runInProcess(dir, ["apply", "--yes", "--target", "volume.data"]));
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout.trim().split("\n").sort()).toEqual(["pool.p", "volume.data"]);
    const unknown = await runInProcess(dir, ["plan", "--target", "volume.nope"]);
    expect(unknown.stderr).toContain("volume.nope: --target names no resource in the program or in state");
    ok(await runInProcess(dir, ["apply", "--yes"]));
    const replaced = JSON.parse(ok(await runInProcess(dir, ["plan", "--json", "--replace", "volume.data"])).stdout) as JsonPlan;
    expect(replaced.changes.map((c) => [c.address, c.action])).toEqual([["volume.data", "replace"]]);
  });
});

describe("per-kind limits", () => {
  it("--kind-parallelism applies with a limit and names a bad kind", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program({ count: 4 }));
    const bad = await runInProcess(dir, ["apply", "--yes", "--kind-parallelism", "Instanc=2"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--kind-parallelism: no kind Instanc; kinds: Cluster");
    ok(await runInProcess(dir, ["apply", "--yes", "--kind-parallelism", "Instance=1"]));
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).toContain("instances.web/app[3]");
  });
});

describe("renderers", () => {
  it("plan --markdown is a PR comment; graph prints DOT and Mermaid", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program());
    // The binary: a program loaded inside vitest reports lines of its transformed text, not the file's.
    const markdown = ok(await runCli(dir, ["plan", "--markdown"])).stdout;
    expect(markdown).toContain("### virtform plan for stack `trust`");
    expect(markdown).toContain("| 🟢 create | `volume.data` | not yet created | `infra.ts:7` |");
    const dot = ok(await runInProcess(dir, ["graph"])).stdout;
    expect(dot).toContain('"instances.web/app[0]" -> "cluster.web";');
    const mermaid = ok(await runInProcess(dir, ["graph", "--format", "mermaid"])).stdout;
    expect(mermaid.split("\n")[0]).toBe("graph LR");
    expect(mermaid).toMatch(/r\d+ --> r\d+/);
    void repoRoot;
  });
});
