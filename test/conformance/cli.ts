// Runs `virtform` against a conformance world: in this process (fast, test/helpers/in-process.ts),
// or as a real process of its own that the crash tests SIGKILL at a state record
// (test/helpers/kill-at-record.ts).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { repoRoot } from "../helpers/cli.ts";
import { runInProcess, type InProcessResult } from "../helpers/in-process.ts";
import type { ConformanceWorld } from "./target.ts";

/** `virtform <args>` in the world's directory, in this process, with the world's environment. */
export async function virtform(world: ConformanceWorld, args: string[]): Promise<InProcessResult> {
  await world.beforeCli();
  const saved = Object.fromEntries(Object.keys(world.cliEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, world.cliEnv);
  try {
    return await runInProcess(world.dir, args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const bin = join(repoRoot, "bin", "virtform.mjs");
const killAt = fileURLToPath(new URL("../helpers/kill-at-record.ts", import.meta.url));
const aptLists = join(repoRoot, "test", "fixtures", "apt-lists");

/**
 * `virtform <args>` as a process of its own; with `killAt` ("before:N", "after:N") it is SIGKILLed
 * just before or after its N-th state record. Its code is the signal's name when it was killed.
 */
export async function virtformProcess(world: ConformanceWorld, args: string[], options: { killAt?: string } = {}): Promise<{ code: number | string; output: string }> {
  await world.beforeCli();
  const env = { ...process.env, NO_COLOR: "1", VIRTFORM_APT_LISTS: aptLists, ...world.cliEnv, ...(options.killAt && { VIRTFORM_KILL_AT: options.killAt }) };
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", killAt, bin, ...args], { cwd: world.dir, env }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.signal ?? error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}
