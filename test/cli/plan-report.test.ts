// What a plan reports besides its changes (issue 10, points 6 and 7): capacity of the stack's own
// clusters and pools only, also when another stack on the same emulator uses the same names, and
// also when the plan fails; Changes to Outputs; the local disk a restart wipes; the --target
// warning; --json that answers with diagnostics when the plan fails; capacity in --markdown.
// The binary applies first and gives diagnostics' lines (a program loaded inside vitest reports
// lines of its transformed text); the other commands run in process (test/helpers/in-process.ts).
import { describe, expect, it } from "vitest";
import { makeWorkdir, readJson, runCli, writeProgram, type CliResult } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";
import { join } from "node:path";

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

/** Two stacks, both with a cluster.web and a pool.p, of different sizes. */
function program(name: string, shape: { hosts: number; vcpu: number; poolGiB: number; outputs: string; extra?: string }): string {
  return `import { stack } from "virtform";
export default stack("${name}", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: ${shape.poolGiB} }] });
  const img = s.image("app", { base: "debian-12", variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: ${shape.hosts}, vcpu: 16, memoryGiB: 64, localDiskGiB: 200 } });
  web.instances("app", { count: 1, image: img.variant("light"), vcpu: ${shape.vcpu}, memoryGiB: 4, localDiskGiB: 40 });
  const data = pool.volume("data", { sizeGiB: 10 });
  ${shape.extra ?? ""}
  return ${shape.outputs};
});
`;
}

const INSTANCES_LINE = 6; // the line of web.instances(...) in program()

interface JsonPlan {
  format_version: string;
  changes: { address: string; data_loss?: unknown }[];
  capacity: { id: string; owner: string; measure: string; before: { used: number; total: number } | null; after: { used: number; total: number } | null }[];
  output_changes: Record<string, { action: string; before: unknown; after: unknown; after_unknown: boolean; sensitive: boolean }>;
  diagnostics: { severity: string; summary: string; address: string | null; range: { filename: string; start: { line: number } } | null }[];
}

describe("what a plan reports", () => {
  const dir = makeWorkdir();
  const alphaEdited = program("alpha", {
    hosts: 2,
    vcpu: 4,
    poolGiB: 100,
    extra: `const logs = pool.volume("logs", { sizeGiB: 5 });`,
    outputs: `{ greeting: "hi", logs: logs.id }`,
  });

  it("capacity shows this stack's cluster.web and pool.p, not another stack's of the same name", async () => {
    writeProgram(dir, program("alpha", { hosts: 2, vcpu: 2, poolGiB: 100, outputs: `{ data: data.id, greeting: "hello" }` }));
    writeProgram(dir, program("beta", { hosts: 4, vcpu: 8, poolGiB: 1000, outputs: "{}" }), "beta.ts");
    ok(await runCli(dir, ["apply", "--yes"]));
    ok(await runInProcess(dir, ["apply", "beta.ts", "--yes"]));

    writeProgram(dir, alphaEdited);
    const text = ok(await runInProcess(dir, ["plan"])).stdout;
    const capacity = text.slice(text.indexOf("Capacity (used / usable"));
    expect(capacity).toMatch(/cluster\.web\s+vCPU\s+2 \/ 32 \(6%\)\s+->\s+4 \/ 32 \(13%\)/);
    expect(capacity).toMatch(/pool\.p\s+provisioned\s+10 \/ 100 GiB \(10%\)\s+->\s+15 \/ 100 GiB \(15%\)/);
    expect(capacity.match(/cluster\.web\s+vCPU/g)).toHaveLength(1);
    // The restart stops the instance: its local disk's bytes go.
    expect(text).toMatch(/~ instances\.web\/app\[0\] will be updated in place, with a restart.*\n.*\n\s+# local disk wiped: 40 GiB/);
    // Changes to Outputs, after the plan's summary line.
    expect(text).toContain(
      ["Changes to Outputs:", '  ~ greeting = "hello" -> "hi"', "  + logs = (known after apply)", `  - data = "`].join("\n"),
    );
  });

  it("--json has output_changes, data_loss and the stack's own capacity rows, by id", async () => {
    const plan = JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as JsonPlan;
    const state = readJson<{ resources: Record<string, { id: string }> }>(join(dir, ".virtform/state/alpha.json"));
    const own = [state.resources["cluster.web"]!.id, state.resources["pool.p"]!.id];
    expect(plan.format_version).toBe("1.2");
    expect(new Set(plan.capacity.map((c) => c.id))).toEqual(new Set(own));
    expect(plan.capacity.find((c) => c.measure === "vCPU")).toMatchObject({ owner: "cluster.web", before: { used: 2, total: 32 }, after: { used: 4, total: 32 } });
    expect(plan.output_changes).toEqual({
      greeting: { action: "update", before: "hello", after: "hi", after_unknown: false, sensitive: false },
      logs: { action: "create", before: null, after: null, after_unknown: true, sensitive: false },
      data: { action: "delete", before: expect.stringMatching(/^vol-/), after: null, after_unknown: false, sensitive: false },
    });
    expect(plan.changes.find((c) => c.address === "instances.web/app[0]")?.data_loss).toEqual({ what: "local disk", size: 40, unit: "GiB" });
    expect(plan.diagnostics).toEqual([]);
  });

  it("--markdown has the capacity section, the outputs and the data loss", async () => {
    const markdown = ok(await runInProcess(dir, ["plan", "--markdown"])).stdout;
    expect(markdown).toContain("| `cluster.web` | vCPU | 2 / 32 (6%) | 4 / 32 (13%) |");
    expect(markdown).toContain("⚠️ local disk wiped: 40 GiB");
    expect(markdown).toContain('+ greeting = "hi"');
  });

  it("--target warns that the plan is incomplete, on stderr and in --json's diagnostics", async () => {
    const targeted = ok(await runInProcess(dir, ["plan", "--json", "--target", "volume.logs"]));
    expect(targeted.stderr).toContain("Warning: --target is in effect: the plan is incomplete.");
    const plan = JSON.parse(targeted.stdout) as JsonPlan;
    expect(plan.diagnostics).toEqual([expect.objectContaining({ severity: "warning", summary: expect.stringContaining("the plan is incomplete") })]);
  });

  it("a plan that cannot be applied still shows the capacity it computed; --json answers with diagnostics", async () => {
    writeProgram(dir, program("alpha", { hosts: 2, vcpu: 40, poolGiB: 100, outputs: "{}" })); // no host has 40 vCPU
    const text = await runInProcess(dir, ["plan"]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain("the plan cannot be applied");
    expect(text.stdout).toMatch(/Capacity \(used \/ usable, before -> after\):\n\s+cluster\.web\s+vCPU\s+2 \/ 32 \(6%\)/);

    const failed = await runCli(dir, ["plan", "--json"]); // the binary: the diagnostics' lines
    expect(failed.code).toBe(1);
    const plan = JSON.parse(failed.stdout) as JsonPlan;
    expect(plan.diagnostics).toEqual([
      expect.objectContaining({
        severity: "error",
        summary: expect.stringContaining("no host of cluster cluster.web can take instances.web/app[0]"),
        address: "instances.web/app[0]",
        range: expect.objectContaining({ filename: "infra.ts", start: expect.objectContaining({ line: INSTANCES_LINE }) }),
      }),
    ]);
    expect(plan.capacity.map((c) => c.owner)).toContain("cluster.web");

    // A program that cannot be evaluated has no plan: the diagnostics alone, with their lines.
    writeProgram(dir, program("alpha", { hosts: 2, vcpu: 2, poolGiB: 100, outputs: "{}" }).replace('volume("data", { sizeGiB: 10 })', 'volume("data", { sizeGiB: -1 })'));
    const broken = await runCli(dir, ["plan", "--json"]); // the binary: the diagnostics' lines
    expect(broken.code).toBe(1);
    const diagnostics = (JSON.parse(broken.stdout) as JsonPlan).diagnostics;
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "error", address: "volume.data", range: expect.objectContaining({ filename: "infra.ts", start: expect.objectContaining({ line: 7 }) }) })]);
  });
});
