// Ctrl-C during apply: the steps in flight finish and are recorded, nothing new starts, the process
// exits 130, and state says exactly what the emulator holds; the next apply does the rest.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";

const VOLUMES = 3000; // one at a time, so the walk is still running when the interrupt arrives

const program = `import { stack } from "virtform";
export default stack("interrupt", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 1024 }], overcommit: 20 });
  for (let i = 0; i < ${VOLUMES}; i++) pool.volume(\`v\${i}\`, { sizeGiB: 1 });
});
`;

it("SIGINT lets steps in flight finish, saves state and exits 130; the next apply completes", async () => {
  const dir = makeWorkdir("virtform-interrupt-");
  writeProgram(dir, program);
  const child = spawn(process.execPath, [join(repoRoot, "bin/virtform.mjs"), "apply", "--yes", "--parallelism", "1"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  let interrupted = false;
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    // The first volume created: the walk is under way.
    if (!interrupted && /volume\.v\d+: created/.test(stdout)) {
      interrupted = true;
      child.kill("SIGINT");
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(interrupted).toBe(true);
  expect(code, stderr).toBe(130);
  expect(stderr).toContain("Interrupt received: letting steps in flight finish and saving state; nothing new starts.");
  expect(stdout).toMatch(/Apply interrupted: \d+ created, 0 updated, 0 deleted, \d+ skipped\.\nNot started: \d+ steps; run apply again to carry them out\./);
  expect(stdout).not.toContain("skipped: cancelled"); // counted, not listed one by one

  // State and the emulator agree exactly: each created volume is in state once, nothing else.
  const state = (await runCli(dir, ["state", "list"])).stdout.trim().split("\n");
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator"));
  const names = [...Object.values(data.pools), ...Object.values(data.volumes)].map((o) => o.name).sort();
  expect(names).toEqual([...state].sort());
  expect(state.length).toBeGreaterThan(1);
  expect(state.length).toBeLessThan(VOLUMES + 1);

  const resumed = await runCli(dir, ["apply", "--yes"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stdout).toContain(`Apply complete: ${VOLUMES + 1 - state.length} created, 0 updated, 0 deleted.`);
  expect((await runCli(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
});
