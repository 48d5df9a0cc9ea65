// Programs that misbehave as JavaScript (never return, exit, throw later, do not parse) and state
// files edited by hand: each gets a diagnostic naming a line or an address, never a stack trace,
// never a hang, never a crash after the plan was printed; and nothing is written outside the
// workspace or to state.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { endRuns, makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

const FRAME = /^\s+at /m;

const program = (body: string, name = "hostile") => `import { stack } from "virtform";
export default stack(${JSON.stringify(name)}, (s) => {
  s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] });
${body}
});
`;

async function plan(source: string, args: string[] = []) {
  const dir = makeWorkdir();
  writeProgram(dir, source);
  const result = await runCli(dir, ["plan", ...args]);
  expect(result.stdout + result.stderr).not.toMatch(FRAME);
  return { ...result, dir };
}

describe("a program that misbehaves", () => {
  it("that never returns is stopped after --program-timeout and reported as such", async () => {
    const started = Date.now();
    const result = await plan(program("  while (true) {}"), ["--program-timeout", "500ms"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("program infra.ts did not finish within 500ms and was stopped");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("that never returns is stopped in `check` and `review` too (a review runs a pull request's code)", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program("  while (true) {}"));
    for (const command of [["check"], ["review", "--format", "json"]]) {
      const started = Date.now();
      const result = await runCli(dir, [...command, "--program-timeout", "500ms"]);
      expect(result.code, `${command[0]}: ${result.stderr}`).toBe(1);
      expect(result.stdout + result.stderr).toContain("program infra.ts did not finish within 500ms and was stopped");
      expect(result.stdout + result.stderr).not.toMatch(FRAME);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });

  it("left running by a test (no time limit) is stopped after the test file, not left to spin", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program("  while (true) {}"));
    const started = Date.now();
    const run = runCli(dir, ["plan", "--program-timeout", "0"]);
    await new Promise((r) => setTimeout(r, 300));
    endRuns(); // what test/helpers/workdir-cleanup.ts does after each file
    expect((await run).code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("runs on the CLI's own thread (no second isolate to start) unless it has top-level await", async () => {
    const where = 'const { isMainThread } = process.getBuiltinModule("node:worker_threads");\n';
    const named = 'export default stack("where", (s) => { s.storagePool(isMainThread ? "main" : "worker", { media: "ssd", devices: [{ sizeGiB: 1 }] }); });\n';
    const plain = await plan(`import { stack } from "virtform";\n${where}${named}`);
    expect(plain.stdout, plain.stderr).toContain("+ pool.main will be created");
    const awaits = await plan(`import { stack } from "virtform";\n${where}await null;\n${named}`);
    expect(awaits.stdout, awaits.stderr).toContain("+ pool.worker will be created");
  });

  it("that leaves a timer which throws after the plan: the plan stands, with a warning", async () => {
    const result = await plan(program('  setTimeout(() => { throw new Error("late"); }, 30);'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("+ pool.p will be created");
    expect(result.stderr).toContain("Warning: program infra.ts left a timer running when it returned; virtform stops it unrun");
    expect(result.stderr).not.toContain("late");
  });

  it("that rejects a promise nobody handles: an error at its line", async () => {
    const result = await plan(program('  Promise.reject(new Error("nobody listens"));'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("infra.ts:4: the program left a promise rejected: Error: nobody listens");
  });

  it("that calls process.exit, or awaits forever at its top level: an error, not a silent success or a hang", async () => {
    const exits = await plan(program("  process.exit(0);"));
    expect(exits.code).toBe(1);
    expect(exits.stderr).toContain("program infra.ts ended before it was evaluated (exit code 0): does it call process.exit, or await something that never settles?");
    const waits = await plan(`await new Promise(() => {});\n${program("")}`);
    expect(waits.code).toBe(1);
    expect(waits.stderr).toContain("program infra.ts ended before it was evaluated");
  });

  it("that does not parse: file:line:col, the line and a caret, no Node frames", async () => {
    const result = await plan(program("  const size = ;"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("program infra.ts has a syntax error:\n  infra.ts:4:16: Expression expected\n      const size = ;\n                   ^");
    expect(result.stderr).not.toContain("node:internal");
  });

  it("whose top-level code throws: its line", async () => {
    const result = await plan(`import { stack } from "virtform";\nthrow new TypeError("at load");\nexport default stack("x", () => {});\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("program infra.ts failed to load: infra.ts:2: the program threw: TypeError: at load");
  });

  it("whose stack name is a path: refused before any file is made of it", async () => {
    const escape = `virtform-escape-${basename(makeWorkdir())}`;
    const result = await plan(program("", `../../../${escape}/pwn`));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`infra.ts:2: stack: invalid stack name "../../../${escape}/pwn"`);
    const destroyed = await runCli(result.dir, ["destroy", "--stack", `../../../${escape}/pwn`, "--yes"]);
    expect(destroyed.code).toBe(1);
    expect(destroyed.stderr).toContain(`invalid stack name "../../../${escape}/pwn"`);
    expect(existsSync(join(result.dir, "..", escape))).toBe(false);
    expect(existsSync(join(result.dir, ".virtform"))).toBe(false);
  });
});

describe("a state file whose kind was edited", () => {
  it("is an error naming the address and the backup, and state is left alone", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program('  s.storagePool("q", { media: "hdd", devices: [{ sizeGiB: 5 }] });', "edited"));
    expect((await runCli(dir, ["apply", "--yes"])).code).toBe(0);
    const file = join(dir, ".virtform/state/edited.json");
    const state = JSON.parse(readFileSync(file, "utf8")) as { resources: Record<string, { kind: string }> };
    state.resources["pool.q"]!.kind = "Bogus";
    writeFileSync(file, JSON.stringify(state));
    const before = readFileSync(file, "utf8");
    for (const command of [["plan"], ["apply", "--yes"]]) {
      const result = await runCli(dir, command);
      expect(result.code).toBe(1);
      expect(result.stderr).not.toMatch(FRAME);
      expect(result.stderr).toContain('state file .virtform/state/edited.json: pool.q has kind "Bogus", which virtform does not know');
      expect(result.stderr).toContain("restore the previous state from .virtform/state/edited.json.backup");
    }
    expect(readFileSync(file, "utf8")).toBe(before);
  });
});
