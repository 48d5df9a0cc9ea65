// `virtform init` writes a project that type-checks (with virtform's options and, as an editor
// would, with its own tsconfig) and `virtform check` lists TypeScript's and virtform's diagnostics
// together with file:line:column. `check` runs the binary (a program loaded inside vitest reports
// lines of its transformed text); init and plan run in process (test/helpers/in-process.ts).
import { readFileSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Project } from "ts-morph";
import { beforeAll, describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

let dir: string;

beforeAll(async () => {
  const parent = makeWorkdir("virtform-init-");
  dir = join(parent, "My Shop");
  const result = await runInProcess(parent, ["init", "My Shop"]);
  expect(result).toMatchObject({ code: 0, stderr: "" });
}, 30_000);

describe("init", () => {
  it("writes the four files, names the stack after the folder, ignores .virtform/", async () => {
    expect(readFileSync(join(dir, "infra.ts"), "utf8")).toContain('stack("my-shop"');
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain(".virtform/");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).toMatchObject({ type: "module", devDependencies: { virtform: expect.any(String) } });
    const again = await runInProcess(dir, ["init"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already has infra.ts, tsconfig.json, package.json, .gitignore");
  }, 30_000);

  // With virtform's own options it type-checks too: check below finds exactly the typo's errors.
  it("type-checks with its own tsconfig once virtform is installed, as an editor sees it", () => {
    // as an editor sees it after npm install: node_modules/virtform is the package
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(repoRoot, join(dir, "node_modules", "virtform"), "dir");
    const project = new Project({ tsConfigFilePath: join(dir, "tsconfig.json") });
    const program = project.getProgram().compilerObject;
    const infra = program.getSourceFile(join(dir, "infra.ts"))!;
    expect([...program.getSyntacticDiagnostics(infra), ...program.getSemanticDiagnostics(infra)].map((d) => d.messageText)).toEqual([]);
  }, 30_000);
});

describe("check", () => {
  it("lists a typo'd field with TypeScript's did-you-mean and virtform's own error, and the typed checks' warnings; exits 1", async () => {
    const file = join(dir, "infra.ts");
    const typed = [
      '  const n = Number(process.env.EXTRA ?? "1");',
      "  for (let i = 0; i < n; i++) pool.volume(`extra-${i}`, { sizeGiB: 1 });",
      '  pool.volume("loose", { sizeGiB: 1 as any });',
      "  return {",
    ].join("\n");
    writeFileSync(file, readFileSync(file, "utf8").replace("sizeGiB: 20", "sizeGB: 20").replace("  return {", typed));
    const result = await runCli(dir, ["check"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^infra\.ts:7:\d+: error TS2561: .*'sizeGB'.*Did you mean to write 'sizeGiB'\?$/m);
    expect(result.stdout).toMatch(/^infra\.ts:7:\d+: error virtform: volume\.data: unknown field sizeGB$/m);
    expect(result.stdout).toContain("infra.ts: 3 errors");
    // typed checks: warnings, with their location
    expect(result.stdout).toMatch(/^infra\.ts:9:3: warning typed\/loop-bound: a resource is declared in a loop whose bound is not a constant \(n\)/m);
    expect(result.stdout).toMatch(/^infra\.ts:10:35: warning typed\/cast: a cast hides a resource input from the type checker \(1 as any\)/m);
    // plan validates only; it points at check for the type checker's suggestions
    const plan = await runInProcess(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain("Error: program infra.ts has 2 errors; `virtform check infra.ts` type-checks it and suggests fixes");
  }, 30_000);
});
