// The generated section of BENCHMARKS.md (bench/report.ts): what a row shows, and that rewriting the
// section leaves the hand-written parts of the document byte for byte.
import { describe, expect, it } from "vitest";
import { BEGIN, END, number, renderSection, spliceSection, type Facts } from "../../bench/report.ts";

const facts: Facts = {
  date: "2026-11-30T12:34:56.000Z",
  commit: "abc1234",
  command: "npm run bench -- --quick",
  seconds: 281.4,
  cores: 2,
  cpuModel: "AMD EPYC",
  loadBefore: [1, 2, 3],
  loadAfter: [4.5, 5, 6],
  node: "v24.21.0",
  terraform: "Terraform v1.11.4",
};

describe("the generated benchmark section", () => {
  it("states the machine, the command, and per measure ours, the peer's, the ratio and the target", () => {
    const section = renderSection(facts, [
      {
        name: "terraform",
        result: {
          benchmark: "terraform",
          command: "node bench/compare-terraform/compare.ts --n 100 --runs 1",
          rows: [
            { what: "plan, N=100", unit: "s", ours: 0.8, peer: 12.345, peerName: "terraform_data", ratio: 15.43, ratioMeaning: "terraform_data / virtform", target: ">= 15x", met: true },
            { what: "apply | N=100", unit: "s", ours: 2, peer: 150, peerName: "terraform_data", ratio: 75, ratioMeaning: "terraform_data / virtform", target: ">= 100x", met: false },
          ],
          notes: ["Terraform v1.11.4"],
        },
      },
      { name: "volumes", skipped: "nbdkit not on the PATH" },
      { name: "review", failed: "exited with 1" },
    ]);
    expect(section.split("\n")).toEqual([
      BEGIN,
      "## Latest `npm run bench`",
      "",
      "`npm run bench -- --quick`, 2026-11-30 12:34 UTC at commit abc1234, 281 s in all.",
      "Machine: 2 cores (AMD EPYC), load average 1.00 / 2.00 / 3.00 before and 4.50 / 5.00 / 6.00 after (1 / 5 / 15 min; other work on the machine slows every figure); Node v24.21.0; Terraform v1.11.4.",
      "",
      "| benchmark | measure | ours | peer | ratio | target | met |",
      "| --- | --- | ---: | ---: | ---: | ---: | --- |",
      "| terraform | plan, N=100 | 0.800 s | 12.3 s (terraform_data) | 15.43x (terraform_data / virtform) | >= 15x | yes |",
      "| terraform | apply \\| N=100 | 2 s | 150 s (terraform_data) | 75.00x (terraform_data / virtform) | >= 100x | **no** |",
      "| volumes | not run: nbdkit not on the PATH | | | | | |",
      "| review | failed: exited with 1 | | | | | |",
      "",
      "Each benchmark's own command (run alone, it prints its tables):",
      "",
      "- terraform: `node bench/compare-terraform/compare.ts --n 100 --runs 1`; Terraform v1.11.4",
      END,
    ]);
  });

  it.each([
    [0.2734, "0.273"],
    [5.6, "5.60"],
    [12.345, "12.3"],
    [1471.2, "1,471"],
    [20, "20"],
  ])("formats %d as %s", (x, shown) => expect(number(x)).toBe(shown));

  it("replaces only the section between the markers, and appends one where there is none", () => {
    const section = `${BEGIN}\nnew\n${END}`;
    const before = `# Benchmarks\n\nhand-written\n\n${BEGIN}\nold\n${END}\n\n## After\n  kept  \n`;
    expect(spliceSection(before, section)).toBe(`# Benchmarks\n\nhand-written\n\n${section}\n\n## After\n  kept  \n`);
    expect(spliceSection("# Benchmarks\n\ntext\n\n", section)).toBe(`# Benchmarks\n\ntext\n\n${section}\n`);
    expect(() => spliceSection(`# B\n${BEGIN}\n`, section)).toThrow(/only one of the generated section's markers/);
  });
});
