// Crash safety: apply stopped at every point of a run — just before and just after each state
// record (so before a provider call, after it but before its result is recorded, and between
// steps) — and the next apply must converge: no orphan in the emulator, no duplicate, nothing
// missing from state.
//
// Every point is covered in this process: one apply runs here, and at each point its working
// directory is copied as a SIGKILL there would leave it (the writes so far, locks held by a process
// that is gone); each copy is then resumed. A few points are killed for real, with SIGKILL, in a
// `virtform` process of their own, and resumed in this process.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";
import { watchStateRecords } from "../helpers/state-journal-writes.ts";

const program = `import { stack } from "virtform";
export default stack("crash", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("app", { base: "debian-12", variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  const app = web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  const v = pool.volume("data", { sizeGiB: 10 });
  v.attachTo(app);
  return { volume: v.id };
});
`;
const RESOURCES = 6; // pool, image, cluster, instance, volume, attachment
const RECORDS = RESOURCES * 2 + 1; // pending + result per step, then the outputs
const POINTS = Array.from({ length: RECORDS }, (_, i) => i + 1).flatMap((n) => [`before:${n}`, `after:${n}`]);

function emulatorNames(dir: string): string[] {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, unknown>;
  return ["clusters", "images", "pools", "volumes", "instances", "attachments"]
    .flatMap((c) => Object.values((data[c] ?? {}) as Record<string, { name: string }>).map((o) => o.name))
    .sort();
}

/** Converged: a second plan changes nothing, and state and emulator hold the same six objects. */
async function expectConverged(dir: string, run: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>) {
  const resumed = await run(["apply", "--yes"]);
  expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
  const plan = await run(["plan", "--detailed-exitcode"]);
  expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  const state = JSON.parse(readFileSync(join(dir, ".virtform/state/crash.json"), "utf8")) as {
    resources: Record<string, unknown>;
    outputs: { volume?: string };
  };
  const addresses = Object.keys(state.resources).sort();
  expect(addresses).toHaveLength(RESOURCES);
  // Every object in the emulator is one state knows, exactly once.
  expect(emulatorNames(dir)).toEqual(addresses);
  expect(state.outputs.volume).toMatch(/^vol-/);
}

/** A pid that no process has any more: the owner of every lock in a copy of a killed run. */
const gonePid = spawnSync("true").pid!;

function lockFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".lock"))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Copies `from` as a SIGKILL now would leave it: the same files (sparse LUNs stay sparse), locks of a dead process. */
function copyAsKilled(from: string, to: string): void {
  execFileSync("cp", ["-a", "--sparse=always", `${from}/.`, to]);
  for (const file of lockFiles(join(to, ".virtform"))) {
    const text = readFileSync(file, "utf8");
    try {
      writeFileSync(file, JSON.stringify({ ...JSON.parse(text), pid: gonePid }));
    } catch {
      writeFileSync(file, `${gonePid}\n`); // a thin pool's lock holds the bare pid
    }
  }
}

describe("apply stopped at any state record converges on the next apply", () => {
  const copies = new Map<string, string>();

  beforeAll(async () => {
    const dir = makeWorkdir("virtform-crash-");
    writeProgram(dir, program);
    const stop = watchStateRecords((n, phase) => {
      const copy = makeWorkdir("virtform-crash-at-");
      copyAsKilled(dir, copy);
      copies.set(`${phase}:${n}`, copy);
    });
    try {
      const applied = await runInProcess(dir, ["apply", "--yes", "--parallelism", "1"]);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    } finally {
      stop();
    }
    expect([...copies.keys()]).toEqual(POINTS); // the run wrote exactly the records counted
  });

  it.each(POINTS)("stopped %s", async (point) => {
    const dir = copies.get(point)!;
    await expectConverged(dir, (args) => runInProcess(dir, args));
  });
});

const bin = join(repoRoot, "bin", "virtform.mjs");
const killAt = fileURLToPath(new URL("../helpers/kill-at-record.ts", import.meta.url));

function runKilled(cwd: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", killAt, bin, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.signal ?? error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("apply SIGKILLed for real converges on the next apply", () => {
  // Before any record, before a provider call, after a provider call whose result is not recorded,
  // and after the last record (the journal not folded into the snapshot).
  it.each(["before:1", "after:3", "before:4", "after:13"])("killed %s", async (point) => {
    const dir = makeWorkdir("virtform-crash-");
    writeProgram(dir, program);
    const killed = await runKilled(dir, ["apply", "--yes", "--parallelism", "1"], { VIRTFORM_KILL_AT: point });
    expect(killed.code, killed.stdout + killed.stderr).toBe("SIGKILL");
    // Only the kill needs a process of its own; the next apply is the same in process.
    await expectConverged(dir, (args) => runInProcess(dir, args));
  });
});
