// On a terminal, apply asks for confirmation and shows live progress. `script` (util-linux) gives
// the CLI a real pseudo-terminal, with the answer typed on its input.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";

function onTerminal(cwd: string, answer: string): Promise<{ code: number; output: string }> {
  const command = `printf '${answer}\\n' | script -qec "${process.execPath} ${join(repoRoot, "bin/virtform.mjs")} apply" /dev/null`;
  return new Promise((resolve) => {
    execFile("bash", ["-c", command], { cwd, env: { ...process.env, CI: "", NO_COLOR: "" } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe("apply on a terminal", () => {
  const hasScript = existsSync("/usr/bin/script");

  it.runIf(hasScript)("asks, and only 'yes' applies, with a live progress block", async () => {
    const dir = makeWorkdir();
    for (const f of ["infra.ts", "virtform.lock"]) copyFileSync(join(repoRoot, "examples/java-appserver", f), join(dir, f));

    const refused = await onTerminal(dir, "no");
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("Do you want to apply these changes? Only 'yes' is accepted:");
    expect(refused.output).toContain("Error: apply cancelled");
    expect(existsSync(join(dir, ".virtform/state/shop.json"))).toBe(false);

    const accepted = await onTerminal(dir, "yes");
    expect(accepted.code, accepted.output).toBe(0);
    expect(accepted.output).toMatch(/\d+ done, \d+ in progress, [\d.]+s elapsed/);
    expect(accepted.output).toContain("Apply complete: 21 created, 0 updated, 0 deleted.");
  });
});
