// A program run on the CLI's own thread (cli/program-guard.ts), in process: a loop anywhere in its
// synchronous code is stopped at the limit, process.exit and late timers are the program's
// problem, never the command's, and what cannot be required is handed to the worker.
// hostile-programs.test.ts drives the same cases through the CLI.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { NeedsWorker, runOnThisThread, sharesThisSdk } from "../../cli/program-guard.ts";
import { makeWorkdir, writeProgram } from "../helpers/cli.ts";

const program = (top: string, body = "") => `import { stack } from "virtform";
${top}
export default stack("guarded", (s) => {
  s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] });
${body}
});
`;

async function run(source: string, timeoutMs = 300) {
  const file = writeProgram(makeWorkdir(), source);
  return runOnThisThread(file, { locks: false }, timeoutMs);
}

// Under vitest a required program gets an SDK of its own: load it once, outside any time limit.
beforeAll(() => {
  sharesThisSdk();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a program on the CLI's own thread", () => {
  it.each([
    ["in its top-level code", program("while (true) {}")],
    ["in its build function", program("", "  for (;;) {}")],
  ])("that loops forever %s is stopped at the limit", async (_, source) => {
    const started = Date.now();
    await expect(run(source)).rejects.toThrow(/^program .*infra\.ts did not finish within 300ms and was stopped/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("evaluates a well-behaved program to its resources, also under a limit longer than Node's timers take", async () => {
    const evaluated = await run(program(""));
    expect(evaluated.resources.map((r) => r.address)).toEqual(["pool.p"]);
    // 100000m: a timer of more than 2^31 ms fires at once; the limit must not.
    expect((await run(program(""), 6_000_000_000)).resources).toHaveLength(1);
  });

  it("that calls process.exit ends nothing: an error saying so", async () => {
    await expect(run(program("", "  process.exit(3);"))).rejects.toThrow(/ended before it was evaluated \(exit code 3\)/);
    expect(typeof process.exit).toBe("function");
  });

  it("that leaves a timer: the timer never runs, and a warning says so", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const ran = vi.fn();
    (globalThis as { lateTimer?: () => void }).lateTimer = ran;
    const evaluated = await run(program("", "  setTimeout(() => (globalThis as any).lateTimer(), 20);"));
    expect(evaluated.resources).toHaveLength(1);
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining("left a timer running when it returned; virtform stops it unrun"));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(ran).not.toHaveBeenCalled();
  });

  it("imported through the host's module system (virtform run in process by a test runner): its build is still stopped at the limit", async () => {
    const file = writeProgram(makeWorkdir(), program("", "  while (true) {}"));
    await expect(runOnThisThread(file, { locks: false }, 300, "import")).rejects.toThrow(/did not finish within 300ms and was stopped/);
    const good = writeProgram(makeWorkdir(), program("", '  return { note: secret("hidden") };').replace("{ stack }", "{ secret, stack }"));
    const evaluated = await runOnThisThread(good, { locks: false }, 10_000, "import");
    expect(evaluated.secretOutputs).toEqual(["note"]);
  });

  it("with top-level await is handed to a worker thread before any of it runs", async () => {
    (globalThis as { ranTopLevel?: boolean }).ranTopLevel = false;
    await expect(run(program("(globalThis as any).ranTopLevel = true;\nawait null;"))).rejects.toBeInstanceOf(NeedsWorker);
    expect((globalThis as { ranTopLevel?: boolean }).ranTopLevel).toBe(false);
  });
});
