// writeFileAtomic under a crash at every point: at each filesystem call it makes (before and after),
// the target holds the old content or the new one, whole, never a mix or nothing; a real SIGKILL
// mid-loop leaves one of the two as well.
import { spawn } from "node:child_process";
import fs, { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../durable/write-file-atomic.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const OLD = "old ".repeat(50_000);
const NEW = "new ".repeat(50_000);
const CALLS = ["openSync", "writeFileSync", "fsyncSync", "closeSync", "renameSync"] as const;

/** Runs `body` with a look at `target` before and after every call of CALLS; returns what each look saw. */
function watchingCalls(target: string, body: () => void): string[] {
  const seen: string[] = [];
  const originals = CALLS.map((name) => [name, fs[name]] as const);
  for (const [name, original] of originals) {
    (fs as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      seen.push(readFileSync(target, "utf8"));
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      seen.push(readFileSync(target, "utf8"));
      return result;
    };
  }
  syncBuiltinESMExports();
  try {
    body();
  } finally {
    for (const [name, original] of originals) (fs as unknown as Record<string, unknown>)[name] = original;
    syncBuiltinESMExports();
  }
  return seen;
}

describe("writeFileAtomic", () => {
  it("leaves the old or the new content, whole, at every call it makes, and no temp file behind", () => {
    const dir = makeWorkdir("virtform-atomic-");
    const target = join(dir, "state.json");
    writeFileSync(target, OLD);
    const seen = watchingCalls(target, () => writeFileAtomic(target, NEW, { mode: 0o600 }));
    expect(seen.length).toBeGreaterThanOrEqual(10); // every call was watched
    expect(seen.every((text) => text === OLD || text === NEW)).toBe(true);
    expect(seen.at(-1)).toBe(NEW);
    expect(readFileSync(target, "utf8")).toBe(NEW);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("a process killed while it replaces the file over and over leaves one of the two contents", async () => {
    const dir = makeWorkdir("virtform-atomic-kill-");
    const target = join(dir, "state.json");
    writeFileSync(target, OLD);
    const module = fileURLToPath(new URL("../../durable/write-file-atomic.ts", import.meta.url));
    const child = spawn(process.execPath, [
      "--input-type=module",
      "-e",
      `import { writeFileAtomic } from ${JSON.stringify(module)};
       const contents = ["new ".repeat(50_000), "old ".repeat(50_000)];
       for (let i = 0; ; i++) { writeFileAtomic(${JSON.stringify(target)}, contents[i % 2]); if (i === 2) console.log("running"); }`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    await new Promise((r) => setTimeout(r, 30));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect([OLD, NEW]).toContain(readFileSync(target, "utf8"));
  });
});
