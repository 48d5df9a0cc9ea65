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

// Hooks in before the CLI (its own hook comes later, so it is asked first) and reports, at exit,
// whether the program's file reached Node's own loader, which would strip it on this thread.
const probe = `import { registerHooks } from "node:module";
let reached = false;
registerHooks({ load(url, context, nextLoad) { if (url.endsWith("/infra.ts")) reached = true; return nextLoad(url, context); } });
process.on("exit", () => process.stderr.write("stripped by Node on the main thread: " + reached + "\\n"));
`;

describe.each([
  { name: "an ES module without package.json", packageJson: undefined, exportDefault: "export default", runs: 2 },
  { name: 'an ES module in a "type": "module" package', packageJson: { type: "module" }, exportDefault: "export default", runs: 1 },
  { name: "CommonJS without package.json", packageJson: undefined, exportDefault: "module.exports =", runs: 1 },
])("a new program, $name", ({ packageJson, exportDefault, runs }) => {
  it("is planned without stripping on the main thread, its errors at their lines", async () => {
    const dir = makeWorkdir();
    if (packageJson) writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson));
    const probeFile = writeProgram(dir, probe, "probe.mjs");
    const load = exportDefault.startsWith("export") ? `import { stack } from "virtform";` : `const { stack } = require("virtform");`;
    writeProgram(dir, `${load}\ntype Size = number;\nconst size: Size = 4;\n${exportDefault} stack("pre", (s) => {\n  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 64 }] });\n  pool.volume("v", { sizeGiB: size });\n  pool.volume("bad", { sizeGiB: -1 });\n});\n`);
    // The first run strips on the worker; a second finds the code it handed Node.
    for (let run = 0; run < runs; run++) {
      const result = await runCli(dir, ["plan"], { NODE_OPTIONS: `--import ${probeFile}` });
      expect(result.stderr).toContain("infra.ts:7: volume.bad: sizeGiB: Too small");
      expect(`run ${run}: ${result.stderr}`).toContain(`run ${run}: ${result.stderr.split("stripped by")[0]}stripped by Node on the main thread: false`);
      expect(result.code).toBe(1);
    }
  });
});
