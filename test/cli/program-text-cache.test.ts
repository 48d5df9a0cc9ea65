// A program's text stripped of its types is kept per text, not per path (cli/program-text-cache.ts):
// the same program in a new directory loads without Node's type stripper, and plans as before, lines
// and all. A CommonJS program is left to Node's loader.
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";

const hook = join(repoRoot, "test", "fixtures", "module-log", "log-modules.mjs");
const STRIPPER = "NativeModule internal/deps/amaro/dist/index";

/** `virtform plan` in a new directory holding `source`; what it printed and whether Node's type stripper was loaded. */
async function planInNewDir(source: string) {
  const dir = makeWorkdir();
  writeProgram(dir, source);
  const log = join(dir, "modules.txt");
  const result = await runCli(dir, ["plan"], { NODE_OPTIONS: `--import=${hook}`, MODULE_LOG: log });
  return { ...result, stripper: readFileSync(log, "utf8").split("\n").includes(STRIPPER) };
}

describe("a program's stripped text, kept per text", () => {
  it("an ES module program plans the same from a new directory, without Node's type stripper", async () => {
    // Text of its own (a new digest), so that the first run strips it whatever ran before.
    const source = `// ${randomUUID()}
import { stack } from "virtform";
const size: number = 5;
export default stack("kept", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 64 }] });
  pool.volume("v", { sizeGiB: size as number });
});
`;
    const first = await planInNewDir(source);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stripper).toBe(true);
    expect(first.stdout).toContain("+ volume.v will be created  # infra.ts:6");
    const again = await planInNewDir(source);
    expect(again).toEqual({ ...first, stripper: false });
  });

  it("a program reached through a symlink is kept too", async () => {
    const source = `// ${randomUUID()}
import { stack } from "virtform";
const size: number = 7;
export default stack("linked", (s) => {
  s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: size }] });
});
`;
    const real = join(makeWorkdir(), "program.ts");
    writeFileSync(real, source);
    const viaLink = async () => {
      const dir = makeWorkdir();
      symlinkSync(real, join(dir, "infra.ts"));
      const log = join(dir, "modules.txt");
      const result = await runCli(dir, ["plan"], { NODE_OPTIONS: `--import=${hook}`, MODULE_LOG: log });
      return { ...result, stripper: readFileSync(log, "utf8").split("\n").includes(STRIPPER) };
    };
    const first = await viaLink();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("+ pool.p will be created");
    expect(first.stripper).toBe(true);
    const again = await viaLink();
    expect(again).toEqual({ ...first, stripper: false });
  });

  it("a CommonJS program is loaded by Node as before, every time", async () => {
    const source = `// ${randomUUID()}
const { stack } = require("virtform");
const size: number = 3;
module.exports = stack("cjs", (s: any) => {
  s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: size }] });
});
`;
    const first = await planInNewDir(source);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("+ pool.p will be created  # infra.ts:5");
    const again = await planInNewDir(source);
    expect(again).toEqual(first);
  });
});

it("a kept text that is not the program's own, blanked, is not run", async () => {
  const source = `// ${randomUUID()}
import { stack } from "virtform";
export default stack("guarded", (s) => {
  s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 64 as number }] });
});
`;
  const first = await planInNewDir(source);
  expect(first.code, first.stderr).toBe(0);
  // What an earlier run kept, changed behind virtform's back: the pool's size.
  const compileCache = process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), "node-compile-cache"); // enableCompileCache()'s
  const cacheDir = readdirSync(compileCache).map((d) => join(compileCache, d, "virtform-programs"));
  const entry = cacheDir.map((d) => join(d, `${createHash("sha256").update(source).digest("hex")}.js`)).find((f) => existsSync(f));
  expect(entry).toBeDefined();
  writeFileSync(entry!, readFileSync(entry!, "utf8").replace("sizeGiB: 64", "sizeGiB: 99"));
  const again = await planInNewDir(source);
  expect(again).toEqual(first); // Node stripped the program again
  expect(readFileSync(entry!, "utf8")).toContain("sizeGiB: 64"); // and the kept text is the program's again
  expect(statSync(entry!).mode & 0o777).toBe(0o600);
  // A kept text others may write is not read: the program is stripped again.
  chmodSync(entry!, 0o666);
  const shared = await planInNewDir(source);
  expect(shared.stripper).toBe(true);
  expect(shared.stdout).toBe(first.stdout);
});
