// Crash safety: apply is SIGKILLed at every point of a run — just before and just after each state
// record (so before a provider call, after it but before its result is recorded, and between
// steps) — and the next apply must converge: no orphan in the emulator, no duplicate, nothing
// missing from state.
import { Emulator } from "../../emulator/emulator.ts";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

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

interface Inspect {
  [collection: string]: Record<string, { name: string }> | number;
}

function emulatorNames(dir: string): string[] {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Inspect;
  return ["clusters", "images", "pools", "volumes", "instances", "attachments"]
    .flatMap((c) => Object.values((data[c] ?? {}) as Record<string, { name: string }>).map((o) => o.name))
    .sort();
}

describe("apply killed at any point converges on the next apply", () => {
  const points = Array.from({ length: RECORDS }, (_, i) => i + 1).flatMap((n) => [`before:${n}`, `after:${n}`]);
  it.each(points)("killed %s", async (point) => {
    const dir = makeWorkdir("virtform-crash-");
    writeProgram(dir, program);
    const killed = await runCli(dir, ["apply", "--yes", "--parallelism", "1"], { VIRTFORM_TEST_KILL_AT: point });
    expect(killed.code, killed.stdout + killed.stderr).not.toBe(0); // it really died

    const resumed = await runCli(dir, ["apply", "--yes"]);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const plan = await runCli(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(0);

    const state = (await runCli(dir, ["state", "list"])).stdout.trim().split("\n");
    expect(state).toHaveLength(RESOURCES);
    // Every object in the emulator is one state knows, exactly once.
    const names = emulatorNames(dir);
    expect(names).toEqual([...state].sort());
    expect(JSON.parse((await runCli(dir, ["output", "--json"])).stdout).volume).toMatch(/^vol-/);
  });
});
