// CI's smoke run of bench/compare-terraform at N=100: the three tools carry out every command on
// the same graph, the table (stderr with --json) has a figure for each, and stdout holds the result
// `npm run bench` reads (bench/result.ts).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchResult } from "../../bench/result.ts";
import { repoRoot } from "../helpers/cli.ts";
import { terraformAvailable } from "../terraform/terraform.ts";

describe.skipIf(!terraformAvailable())("bench/compare-terraform", () => {
  it("measures virtform, terraform_data and terraform with virtform's provider at N=100", async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, [join(repoRoot, "bench/compare-terraform/compare.ts"), "--n", "100", "--runs", "1", "--json"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stdout: out, stderr: err }),
      ),
    );
    expect(stderr).toContain("## N = 100");
    const commands = ["plan", "apply", "no-op plan", "1% edit plan", "destroy"];
    for (const command of commands) {
      const row = stderr.split("\n").find((line) => line.startsWith(`| ${command} |`));
      expect(row, command).toMatch(/^\| [^|]+ \| [\d.]+ s \([\d.]+-[\d.]+\), cpu [\d.]+ s, \d+ MiB \| [\d.]+ s .* \| [\d.]+ s .* \| [\d.]+x \| [\d.]+x \|$/);
    }
    const result = JSON.parse(stdout) as BenchResult;
    expect(result.benchmark).toBe("terraform");
    expect(result.command).toBe("node bench/compare-terraform/compare.ts --n 100 --runs 1");
    expect(result.rows.map((r) => r.what)).toEqual(
      commands.flatMap((c) => ["wall", "CPU"].flatMap((m) => [`${c}, N=100, ${m}, median of 1: virtform`, `${c}, N=100, ${m}, median of 1: terraform + our provider`])),
    );
    for (const row of result.rows) {
      expect(row.ours).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.what.endsWith("virtform") ? row.peer! / row.ours : row.ours / row.peer!, 6);
      // The targets are stated at N=5,000 only.
      expect(row.target).toBeUndefined();
    }
  }, 300_000);

  it("runs the floor provider (terraform_data's schema, and ours) through a plan, its CPU counted apart", async () => {
    const { stderr } = await new Promise<{ stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        [join(repoRoot, "bench/compare-terraform/compare.ts"), "--n", "20", "--runs", "1", "--upto", "plan", "--tools", "terraform+floor,terraform+floor-schema"],
        { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
        (error, _out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stderr: err })),
      ),
    );
    for (const tool of ["terraform+floor", "terraform+floor-schema"]) {
      // Terraform planned the graph through the floor: its three launches' CPU is a share of the whole.
      const [, cpu, provider] = new RegExp(`N=20 ${tool.replace("+", "\\+")} plan: [\\d.]+ s, cpu ([\\d.]+) s \\(provider ([\\d.]+) s\\)`).exec(stderr) ?? [];
      expect(provider, stderr).toBeDefined();
      expect(Number(provider)).toBeGreaterThan(0);
      expect(Number(provider)).toBeLessThan(Number(cpu));
    }
  }, 120_000);
});
