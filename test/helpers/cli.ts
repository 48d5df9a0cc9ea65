// Runs the real `virtform` binary in a working directory of its own, as a user would.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repoRoot, "bin", "virtform.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const workdirs: string[] = [];

export function makeWorkdir(prefix = "virtform-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  workdirs.push(dir);
  return dir;
}

/**
 * Removes the working directories made since the last call (test/helpers/workdir-cleanup.ts calls it
 * after each test file). One that still has a file system mounted under it (a failed image build's
 * loop mount) is left, so that nothing is deleted through the mount.
 */
export function removeWorkdirs(): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((line) => line.split(" ")[4] ?? "");
  for (const dir of workdirs.splice(0)) {
    if (mounts.some((m) => m === dir || m.startsWith(`${dir}/`))) continue;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Programs planned without a lock resolve their images against the apt lists: a tiny stand-in for
 * them keeps that fast and the same on every machine. A test that wants the real lists sets
 * VIRTFORM_APT_LISTS in `env`.
 */
const aptLists = join(repoRoot, "test", "fixtures", "apt-lists");

/** CLI runs not finished yet: a test that timed out leaves its run behind (endRuns stops them). */
const running = new Set<ChildProcess>();

export function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd, env: { ...process.env, NO_COLOR: "1", VIRTFORM_APT_LISTS: aptLists, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        running.delete(child);
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    running.add(child);
  });
}

/** Kills the CLI runs still going (test/helpers/workdir-cleanup.ts calls it after each test file). */
export function endRuns(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

export function writeProgram(dir: string, source: string, name = "infra.ts"): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
