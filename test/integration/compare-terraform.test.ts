// CI's smoke run of bench/compare-terraform at N=100: the three tools carry out every command on
// the same graph, and the report has a figure for each.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";
import { terraformAvailable } from "../terraform/terraform.ts";

describe.skipIf(!terraformAvailable())("bench/compare-terraform", () => {
  it("measures virtform, terraform_data and terraform with virtform's provider at N=100", async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(repoRoot, "bench/compare-terraform/compare.ts"), "--n", "100", "--runs", "1"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    expect(stdout).toContain("## N = 100");
    for (const command of ["plan", "apply", "no-op plan", "1% edit plan", "destroy"]) {
      const row = stdout.split("\n").find((line) => line.startsWith(`| ${command} |`));
      expect(row, command).toMatch(/^\| [^|]+ \| [\d.]+ s \([\d.]+-[\d.]+\), \d+ MiB \| [\d.]+ s .* \| [\d.]+ s .* \| [\d.]+x \| [\d.]+x \|$/);
    }
  }, 300_000);
});
