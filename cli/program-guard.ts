// Runs a program on the CLI's own thread within --program-timeout: its module is required (Node
// loads an ES module synchronously when it has no top-level await) and its build run inside
// vm.runInThisContext, whose timeout makes V8 stop even a `while (true) {}`. Around the run,
// process.exit is turned into an error, errors the program leaves uncaught (a rejected promise, a
// throwing timer) are collected as its diagnostics, and timers it leaves running are cleared unrun.
// A program this cannot load synchronously is handed to a worker thread (NeedsWorker).
// When virtform itself was loaded by another module system (a test runner running the CLI in
// process), a program is imported through that system instead, to get the same SDK: then only its
// build function is stopped at the limit, not a loop in its top-level code.
import { createHook } from "node:async_hooks";
import { createRequire } from "node:module";
import { Script } from "node:vm";
import { DiagnosticsError, type Diagnostic } from "../core/model.ts";
import type { EvaluatedStack } from "../sdk/evaluate.ts";
import * as sdk from "../sdk/index.ts";
import { thrownDiagnostic } from "../sdk/thrown.ts";
import { CliError } from "./cli-error.ts";
import { loadError } from "./load-error.ts";
import { loadProgram, unguarded, type LoadOptions, type ProgramGuard } from "./program.ts";

const requireHere = createRequire(import.meta.url);

/** Why a program cannot be required: top-level await, or TypeScript that Node's type stripping cannot load. */
const WORKER_CODES = new Set([
  "ERR_REQUIRE_ASYNC_MODULE",
  "ERR_REQUIRE_CYCLE_MODULE",
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_MODULE_NOT_FOUND",
  "MODULE_NOT_FOUND",
  "ERR_UNSUPPORTED_DIR_IMPORT",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
]);

/** The program must be run in a worker thread instead (nothing of it has run yet). */
export class NeedsWorker extends Error {}

let shared: boolean | undefined;
/**
 * Whether a program required here gets the SDK this code was loaded with: true under Node; not when
 * a test runner or bundler loaded virtform through its own module system.
 */
export function sharesThisSdk(): boolean {
  if (shared === undefined) {
    try {
      shared = requireHere("../sdk/index.ts") === sdk;
    } catch {
      shared = false;
    }
  }
  return shared;
}

export function limitMessage(path: string, timeoutMs: number): string {
  const limit = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000}s` : `${timeoutMs}ms`;
  return `program ${path} did not finish within ${limit} and was stopped: does it loop forever or wait on something? (--program-timeout sets the limit)`;
}

export function endedMessage(path: string, exitCode: number | string): string {
  return `program ${path} ended before it was evaluated (exit code ${exitCode}): does it call process.exit, or await something that never settles?`;
}

/** The longest delay Node's timers take (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

// vm's timeout bounds one synchronous call: this script calls the function stored under the symbol.
const CALL = Symbol.for("virtform.program-guard.call");
const callStored = new Script(`globalThis[Symbol.for("virtform.program-guard.call")]()`);

/** Thrown by process.exit while the program runs, so that nothing after the call runs. */
class ProgramExit extends Error {}

/** How the program's module is loaded: required (bounded in time, Node's own loader) or imported. */
export type ModuleLoading = "require" | "import";

export async function runOnThisThread(path: string, options: LoadOptions, timeoutMs: number, loading: ModuleLoading = "require"): Promise<EvaluatedStack> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  const stopped = () => new CliError(limitMessage(path, timeoutMs));
  let exitCode: number | string | undefined;
  const uncaught: Diagnostic[] = [];
  const timers: { type: string; resource: object }[] = [];

  const guard: ProgramGuard = {
    run<T>(fn: () => T): T {
      if (deadline === Infinity) return fn();
      (globalThis as Record<symbol, unknown>)[CALL] = fn;
      try {
        return callStored.runInThisContext({ timeout: Math.min(MAX_TIMER_MS, Math.max(1, deadline - Date.now())) }) as T;
      } catch (err) {
        throw codeOf(err) === "ERR_SCRIPT_EXECUTION_TIMEOUT" ? stopped() : err;
      } finally {
        delete (globalThis as Record<symbol, unknown>)[CALL];
      }
    },
    async importModule(file) {
      if (loading === "import") return unguarded.importModule(file, path);
      try {
        const module = guard.run(() => requireHere(file) as unknown);
        // CommonJS gives its exports, which import() would give as the default export.
        return (module as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag] === "Module" ? (module as { default?: unknown }) : { default: module };
      } catch (err) {
        if (err instanceof CliError || exitCode !== undefined) throw err;
        if (WORKER_CODES.has(codeOf(err))) throw new NeedsWorker();
        throw loadError(path, err);
      }
    },
  };

  // Timers and immediates made while the program runs; those still pending afterwards are its own.
  const hook = createHook({
    init(_asyncId, type, _trigger, resource) {
      if (type === "Timeout" || type === "Immediate") timers.push({ type, resource });
    },
  });
  const exit = process.exit;
  const listeners = { uncaughtException: process.listeners("uncaughtException"), unhandledRejection: process.listeners("unhandledRejection") };
  process.removeAllListeners("uncaughtException").removeAllListeners("unhandledRejection");
  process.on("uncaughtException", (err) => {
    if (!(err instanceof ProgramExit)) uncaught.push(thrownDiagnostic("the program threw", err));
  });
  process.on("unhandledRejection", (reason) => uncaught.push(thrownDiagnostic("the program left a promise rejected", reason)));
  process.exit = ((code?: number | string | null) => {
    exitCode ??= code ?? process.exitCode ?? 0;
    throw new ProgramExit("process.exit");
  }) as typeof process.exit;
  /** Clears the program's timers; says how many were pending (clearing one that already ran changes nothing). */
  const stopTimers = (): number => {
    const before = activeTimers();
    for (const { type, resource } of timers.splice(0)) {
      if (type === "Timeout") clearTimeout(resource as NodeJS.Timeout);
      else clearImmediate(resource as NodeJS.Immediate);
    }
    return before - activeTimers();
  };
  // The limit for what the program awaits (made before the hook, which would count it as the program's).
  let timer: NodeJS.Timeout | undefined;
  const limit =
    deadline === Infinity
      ? undefined
      : new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(stopped()), Math.min(MAX_TIMER_MS, timeoutMs));
        });
  hook.enable();
  try {
    const load = loadProgram(path, options, guard);
    let evaluated: EvaluatedStack;
    try {
      evaluated = await (limit ? Promise.race([load, limit]) : load);
    } catch (err) {
      throw exitCode !== undefined ? new CliError(endedMessage(path, exitCode)) : err;
    }
    // Its timers are stopped as it returns (none of them runs, however slow the machine), then one
    // turn of the event loop, so that promises it rejected without a handler are seen.
    const n = stopTimers();
    hook.disable();
    await new Promise((resolve) => setImmediate(resolve));
    if (exitCode !== undefined) throw new CliError(endedMessage(path, exitCode));
    if (uncaught.length > 0) {
      throw new DiagnosticsError(uncaught, `program ${path} has ${uncaught.length} error${uncaught.length === 1 ? "" : "s"}`);
    }
    if (n > 0) {
      process.stderr.write(
        `Warning: program ${path} left ${n === 1 ? "a timer" : `${n} timers`} running when it returned; virtform stops ${n === 1 ? "it" : "them"} unrun (declare every resource before build returns)\n`,
      );
    }
    return evaluated;
  } finally {
    stopTimers(); // also when the program failed: nothing of it runs after this
    hook.disable();
    clearTimeout(timer);
    process.exit = exit;
    process.removeAllListeners("uncaughtException").removeAllListeners("unhandledRejection");
    for (const l of listeners.uncaughtException) process.on("uncaughtException", l);
    for (const l of listeners.unhandledRejection) process.on("unhandledRejection", l);
  }
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

/** An error's code; a program may throw anything, null included. */
function codeOf(err: unknown): string {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}
