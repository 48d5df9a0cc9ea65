// The worker thread a program runs in (cli/program-runner.ts starts it): loads and evaluates the
// program, then posts back what it declares, or why it failed, as plain data. Errors the program
// throws where nothing catches them (a rejected promise, a throwing callback) are its errors, never
// a crash; timers it leaves running are stopped with the worker, and said so in a warning.
import { parentPort } from "node:worker_threads";
import { DiagnosticsError, type Diagnostic } from "../core/model.ts";
import { thrownDiagnostic } from "../sdk/thrown.ts";
import { CliError } from "./cli-error.ts";
import { loadProgram } from "./program.ts";
import type { ProgramReply, ProgramRequest } from "./program-runner.ts";

const uncaught: Diagnostic[] = [];
process.on("uncaughtException", (err) => uncaught.push(thrownDiagnostic("the program threw", err)));
process.on("unhandledRejection", (reason) => uncaught.push(thrownDiagnostic("the program left a promise rejected", reason)));

async function run({ path, options }: ProgramRequest): Promise<ProgramReply> {
  try {
    // Lock warnings come back with the reply: the worker's own stderr is flushed by the main thread
    // later, and what is still in flight when the worker is stopped would be lost.
    const lockWarnings: Diagnostic[] = [];
    const evaluated = await loadProgram(path, { ...options, warnings: lockWarnings });
    // One turn of the event loop, so that promises the program rejected without a handler are seen.
    await new Promise((resolve) => setImmediate(resolve));
    if (uncaught.length > 0) {
      return { error: { kind: "diagnostics", message: `program ${path} has ${uncaught.length} error${uncaught.length === 1 ? "" : "s"}`, diagnostics: uncaught } };
    }
    const timers = process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
    const warnings: Diagnostic[] = [...lockWarnings];
    if (timers > 0) {
      warnings.push({ severity: "warning", message: `program ${path} left ${timers === 1 ? "a timer" : `${timers} timers`} running when it returned; virtform stops ${timers === 1 ? "it" : "them"} unrun (declare every resource before build returns)` });
    }
    return { evaluated: JSON.stringify(evaluated), warnings };
  } catch (err) {
    if (err instanceof DiagnosticsError) return { error: { kind: "diagnostics", message: err.message, diagnostics: err.diagnostics } };
    if (err instanceof CliError) return { error: { kind: "cli", message: err.message, exitCode: err.exitCode } };
    return { error: { kind: "bug", message: err instanceof Error ? (err.stack ?? err.message) : String(err) } };
  }
}

// It waits to be told which program.
parentPort!.once("message", async (request: ProgramRequest) => parentPort!.postMessage(await run(request)));
