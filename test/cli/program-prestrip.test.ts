// A program's types are stripped on another thread while the CLI loads (cli/program-prestrip.ts):
// the main thread then never starts Node's stripper for it, and the program reads the same in
// either module format, with its diagnostics at the lines the user wrote.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guessProgram } from "../../cli/program-prestrip.ts";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

describe("guessProgram: which file a command line loads", () => {
  const dir = makeWorkdir();
  writeFileSync(join(dir, "infra.ts"), "");
  writeFileSync(join(dir, "other.ts"), "");
  writeFileSync(join(dir, "saved.plan"), "");
  mkdirSync(join(dir, "sub"));
  const cases: [string[], string | undefined][] = [
    [["plan"], "infra.ts"],
    [["preview", "--json"], "infra.ts"],
    [["apply", "--yes", "other.ts"], "other.ts"],
    [["--program-timeout", "5s", "plan", "other.ts"], "other.ts"],
    [["destroy", "--yes"], "infra.ts"],
    [["plan", "missing.ts"], undefined],
    [["apply", "saved.plan"], undefined], // a saved plan loads no program
    [["plan", "--pulumi"], undefined],
    [["state", "list"], undefined],
    [["images", "lock", "infra.ts"], undefined],
  ];
  it.each(cases)("%j -> %s", (args, expected) => {
    expect(guessProgram(args, dir)).toBe(expected === undefined ? undefined : join(dir, expected));
  });
});

// Reports, at exit, whether Node's TypeScript stripper was loaded on the CLI's own thread.
const probe = `process.on("exit", () => process.stderr.write("stripper on main thread: " + process.moduleLoadList.some((m) => m.includes("amaro")) + "\\n"));\n`;

describe.each([
  { name: "an ES module without package.json", packageJson: undefined, exportDefault: "export default" },
  { name: 'an ES module in a "type": "module" package', packageJson: { type: "module" }, exportDefault: "export default" },
  { name: "CommonJS without package.json", packageJson: undefined, exportDefault: "module.exports =" },
])("a new program, $name", ({ packageJson, exportDefault }) => {
  it("is planned without stripping on the main thread, its errors at their lines", async () => {
    const dir = makeWorkdir();
    if (packageJson) writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson));
    const probeFile = writeProgram(dir, probe, "probe.mjs");
    const load = exportDefault.startsWith("export") ? `import { stack } from "virtform";` : `const { stack } = require("virtform");`;
    writeProgram(dir, `${load}\ntype Size = number;\nconst size: Size = 4;\n${exportDefault} stack("pre", (s) => {\n  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 64 }] });\n  pool.volume("v", { sizeGiB: size });\n  pool.volume("bad", { sizeGiB: -1 });\n});\n`);
    const result = await runCli(dir, ["plan"], { NODE_OPTIONS: `--import ${probeFile}` });
    expect(result.stderr).toContain("infra.ts:7: volume.bad: sizeGiB: Too small");
    expect(result.stderr).toContain("stripper on main thread: false");
    expect(result.code).toBe(1);
  });
});
