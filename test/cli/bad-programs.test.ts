// Bad programs fail with errors that name the resource address, the field path and the source
// line, exit 1, and change nothing in state or in the emulator. Through the binary where a line is
// checked (a program loaded inside vitest reports lines of its transformed text), else in process.
import { Emulator } from "../../emulator/emulator.ts";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";
import { shopProgram } from "../helpers/programs.ts";

const header = `import { stack } from "virtform";
export default stack("bad", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("app", { base: "debian-12", packages: ["tomcat10"], variants: { light: {}, heavy: { config: { heapMiB: 8192 } } } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 100 } });
`;
const footer = `});
`;

/** Each case: the body lines (numbered from line 6 of the file) and what stderr must contain. */
const cases: { name: string; body: string; expected: (string | RegExp)[] }[] = [
  {
    name: "a dependency cycle names the cycle",
    body: `  const a = fast.volume("a", { sizeGiB: 1 });
  const b = fast.volume("b", { sizeGiB: 1 }, { dependsOn: a });
  a.addDependency(b);
`,
    expected: [/dependency cycle: volume\.(a|b) -> volume\.(a|b) -> volume\.(a|b)/, /infra\.ts:(6|7): volume\.(a|b)/],
  },
  {
    name: "an unknown variant (the type checker would refuse it; at run time it is reported)",
    body: `  web.instances("app", { count: 1, image: img.variant("hevy"), vcpu: 1, memoryGiB: 1 });
`,
    expected: ['infra.ts:6: instances.web/app[0]: image: image.app has no variant "hevy" (it has: light, heavy)'],
  },
  {
    name: "a negative size",
    body: `  fast.volume("data", { sizeGiB: -5 });
`,
    expected: ["infra.ts:6: volume.data: sizeGiB: Too small: expected number to be >=1 MiB (1/1024 GiB)"],
  },
  {
    name: "a duplicate name",
    body: `  fast.volume("data", { sizeGiB: 5 });
  fast.volume("data", { sizeGiB: 6 });
`,
    expected: ["infra.ts:7: volume.data: volume.data is declared twice (first at infra.ts:6)"],
  },
  {
    name: "a second attachment of a volume that is not multi-attach",
    body: `  const app = web.instances("app", { count: 2, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  const data = fast.volume("data", { sizeGiB: 5 });
  data.attachTo(app);
`,
    expected: [
      "infra.ts:8: attachment.data@web/app[1]: volume: volume.data is not multi-attach and is already attached to instances.web/app[0] (at infra.ts:8); set multiAttach: true on the volume or attach it once",
    ],
  },
  {
    name: "more memory than the cluster has",
    body: `  web.instances("big", { count: 3, image: img.variant("heavy"), vcpu: 2, memoryGiB: 48 });
`,
    expected: [
      "the plan cannot be applied: 1 problem",
      "infra.ts:6: instances.web/big[2]: create would fail: no host of cluster cluster.web can take instances.web/big[2] (2 vCPU, 48 GiB memory, 0 GiB local disk): 2 of 2 hosts lack memory (need 48 GiB, max free 15 GiB)",
    ],
  },
  {
    name: "several errors at once, each with address, path and line",
    body: `  fast.volume("data", { sizeGiB: 0, multiAttach: "yes" });
  web.instances("app", { count: -1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  s.cluster("db", { hypervisor: "kvm", hosts: { count: 1, vcpu: 4, memoryGiB: 8, localDiskGiB: 0 } });
`,
    expected: [
      "has 4 errors",
      "infra.ts:6: volume.data: sizeGiB: Too small",
      "infra.ts:6: volume.data: multiAttach: Invalid input: expected boolean, received string",
      "infra.ts:7: instances.web/app: count: Too small: expected number to be >=0 (got -1)",
      'infra.ts:8: cluster.db: hypervisor: Invalid option: expected one of "native"|"hosted"|"dual-mode"',
    ],
  },
];

describe("bad programs", () => {
  const dir = makeWorkdir();
  let stateBefore: string;
  let emulatorBefore: string;

  beforeAll(async () => {
    writeProgram(dir, shopProgram());
    const applied = await runInProcess(dir, ["apply", "--yes"]);
    expect(applied.code, applied.stderr).toBe(0);
    stateBefore = readFileSync(join(dir, ".virtform/state/shop.json"), "utf8");
    emulatorBefore = JSON.stringify(Emulator.readDataDir(join(dir, ".virtform/emulator")));
  });

  for (const testCase of cases) {
    it(testCase.name, async () => {
      writeProgram(dir, header + testCase.body + footer);
      for (const command of [["plan"], ["apply", "--yes"]]) {
        const result = await runCli(dir, command);
        expect(result.code, result.stdout + result.stderr).toBe(1);
        for (const expected of testCase.expected) {
          if (typeof expected === "string") expect(result.stderr).toContain(expected);
          else expect(result.stderr).toMatch(expected);
        }
      }
      expect(readFileSync(join(dir, ".virtform/state/shop.json"), "utf8")).toBe(stateBefore);
      expect(existsSync(join(dir, ".virtform/state/bad.json"))).toBe(false);
      expect(JSON.stringify(Emulator.readDataDir(join(dir, ".virtform/emulator")))).toBe(emulatorBefore);
    });
  }

  it("a handle from another StackBuilder is an error at the line of its use, naming both stacks", async () => {
    writeProgram(
      dir,
      `import { stack, StackBuilder } from "virtform";
const storage = new StackBuilder("storage");
const logs = storage.storagePool("archive", { media: "hdd", devices: [{ sizeGiB: 100 }] }).volume("logs", { sizeGiB: 5 });
export default stack("app", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("app", { base: "debian-12", variants: { light: {} } });
  const app = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 4, memoryGiB: 8, localDiskGiB: 0 } }).instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  fast.volume("logs", { sizeGiB: 5 });
  fast.volume("copy", { sizeGiB: 5, source: logs });
  logs.attachTo(app);
});
`,
      "foreign.ts",
    );
    const result = await runCli(dir, ["plan", "foreign.ts"]);
    expect(result.code).toBe(1);
    // Used to bind to this stack's own volume.logs, and to drop the attachment ("No changes").
    expect(result.stderr).toContain('foreign.ts:9: volume.copy: source: volume.logs belongs to stack "storage" and cannot be used in stack "app"');
    expect(result.stderr).toContain('foreign.ts:10: attachment.logs@web/app[0]: instance: instances.web/app[0] belongs to stack "app" and cannot be used in stack "storage"');
    expect(existsSync(join(dir, ".virtform/state/app.json"))).toBe(false);
  });

  it("a program without a stack export is refused clearly", async () => {
    writeProgram(dir, "export const x = 1;\n", "nostack.ts");
    const result = await runInProcess(dir, ["plan", "nostack.ts"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("must have a default export made by stack()");
  });

  it("a missing program is refused clearly", async () => {
    const result = await runInProcess(dir, ["plan", "nope.ts"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("program nope.ts not found");
  });
});
