// The review's speed: `virtform review --base HEAD` of the review example (examples/review), and of
// the engine benchmark's 5,000-resource program with its 1 % edit (bench/engine/program.ts), each
// in a temporary git repository, through the binary. Best of 3 wall-clock runs, in seconds.
//
//   node bench/review/review.ts
// Targets (issue 15): the example <= 2 s; the 5,000-resource program <= 6 s.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeHistory } from "../../examples/review/make-history.ts";
import { programSource } from "../engine/program.ts";
import { commandOf, emitResult, takeJsonFlag } from "../result.ts";

const json = takeJsonFlag();

const bin = fileURLToPath(new URL("../../bin/virtform.mjs", import.meta.url));

function timed(dir: string, args: string[]): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    execFileSync(process.execPath, [bin, ...args], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    runs.push((performance.now() - start) / 1000);
  }
  return Math.min(...runs);
}

function engineHistory(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), "virtform-bench-review-"));
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: dir, stdio: "pipe" });
  git("init", "-q");
  writeFileSync(join(dir, "infra.ts"), programSource({ n }));
  git("add", "infra.ts");
  git("commit", "-q", "-m", "base");
  writeFileSync(join(dir, "infra.ts"), programSource({ n, edits: n / 100 }));
  return dir;
}

const example = mkdtempSync(join(tmpdir(), "virtform-bench-review-example-"));
makeHistory(example);
const rows: [string, number, number][] = [
  ["review example (markdown)", timed(example, ["review", "--base", "HEAD"]), 2],
  ["5,000 resources, 1 % edit (json)", timed(engineHistory(5000), ["review", "--base", "HEAD", "--format", "json"]), 6],
];
console.log("| review --base HEAD | seconds (best of 3) | target |\n| --- | ---: | ---: |");
for (const [what, seconds, target] of rows) console.log(`| ${what} | ${seconds.toFixed(2)} | <= ${target} |`);
emitResult(json, {
  benchmark: "review",
  command: commandOf("bench/review/review.ts"),
  rows: rows.map(([what, seconds, target]) => ({ what: `review --base HEAD, ${what}, best of 3`, unit: "s", ours: seconds, target: `<= ${target} s`, met: seconds <= target })),
});
