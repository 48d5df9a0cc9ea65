// Makes the review example's git history in a folder: a commit holding base/infra.ts as infra.ts,
// then head/infra.ts in the working tree, as in a pull request under review. With --golden it also
// writes the review of that change, in Markdown, JSON and SARIF, to golden/ (test/review/example
// compares them).
//
//   node examples/review/make-history.ts DIR [--golden]
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const bin = join(here, "..", "..", "bin", "virtform.mjs");
export const GOLDEN_FORMATS = { markdown: "review.md", json: "review.json", sarif: "review.sarif" } as const;

export function makeHistory(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=example", "-c", "user.email=example@example.com", ...args], { cwd: dir, stdio: "pipe" });
  git("init", "-q");
  copyFileSync(join(here, "base", "infra.ts"), join(dir, "infra.ts"));
  git("add", "infra.ts");
  git("commit", "-q", "-m", "the shop");
  copyFileSync(join(here, "head", "infra.ts"), join(dir, "infra.ts"));
}

function writeGolden(dir: string): void {
  for (const [format, file] of Object.entries(GOLDEN_FORMATS)) {
    execFileSync(process.execPath, [bin, "review", "--base", "HEAD", "--format", format, "--out", join(here, "golden", file)], { cwd: dir, stdio: "pipe" });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: node examples/review/make-history.ts DIR [--golden]\n");
    process.exit(2);
  }
  makeHistory(dir);
  if (process.argv.includes("--golden")) writeGolden(dir);
  process.stdout.write(`Made the history in ${dir}; review it with: cd ${dir} && virtform review --base HEAD\n`);
}
