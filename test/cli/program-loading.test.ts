// Programs load with Node's own type stripping; a program that needs more of TypeScript (an enum,
// an import without extension) is loaded through tsx instead, and its errors still name the line
// the user wrote.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

const program = (extra: string) => `import { stack } from "virtform";
import { sizeOf } from "./sizes";

enum Tier { Small = 1, Large = 4 }

export default stack("full-ts", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 64 }] });
  pool.volume("v", { sizeGiB: sizeOf(Tier.Large) });
${extra}});
`;

describe.each([
  { name: "in a directory without package.json (CommonJS to tsx)", packageJson: undefined },
  { name: 'in a "type": "module" package', packageJson: { type: "module" } },
])("a program with an enum and an import without extension, $name", ({ packageJson }) => {
  it("plans and applies, and reports a bad field at its own line", async () => {
    const dir = makeWorkdir();
    if (packageJson) writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson));
    writeProgram(dir, `export function sizeOf(tier: number): number {\n  return tier * 2;\n}\n`, "sizes.ts");

    writeProgram(dir, program(`  pool.volume("bad", { sizeGiB: -1 });\n`));
    const bad = await runCli(dir, ["plan"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("infra.ts:9: volume.bad: sizeGiB: Too small");

    writeProgram(dir, program(""));
    const plan = await runCli(dir, ["plan", "--json"]);
    expect(plan.stderr).toBe("");
    const changes = (JSON.parse(plan.stdout) as { changes: { address: string; action: string; after: { sizeGiB?: number } }[] }).changes;
    expect(changes.map((c) => [c.address, c.action])).toEqual([
      ["pool.p", "create"],
      ["volume.v", "create"],
    ]);
    expect(changes.find((c) => c.address === "volume.v")?.after.sizeGiB).toBe(8);

    const apply = await runCli(dir, ["apply", "--yes"]);
    expect(apply.code).toBe(0);
    expect((await runCli(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});
