// Runs a program where it can be stopped. Most programs run on the CLI's own thread
// (cli/program-guard.ts): nothing to start, and the SDK is loaded once. One that it cannot load
// synchronously (top-level await, TypeScript that needs tsx) runs in a worker thread
// (cli/program-worker.ts) that imports and evaluates it and posts back what it declares. Either way a
// program that never returns is stopped after the time limit (--program-timeout, default 60 s) and
// reported as such; one that calls process.exit, or throws where nothing catches it, gets an error,
// never a crash of the command.
import { Worker } from "node:worker_threads";
import { DiagnosticsError, formatDiagnostic, type Diagnostic } from "../core/model.ts";
import type { EvaluatedStack } from "../sdk/evaluate.ts";
import { CliError } from "./cli-error.ts";
import { endedMessage, limitMessage, MAX_TIMER_MS, NeedsWorker, runOnThisThread, sharesThisSdk } from "./program-guard.ts";
import type { LoadOptions } from "./program.ts";

export const DEFAULT_PROGRAM_TIMEOUT_MS = 60_000;

/** Set from the global `--program-timeout` option; 0 means no limit. */
let timeoutMs = DEFAULT_PROGRAM_TIMEOUT_MS;
export function setProgramTimeout(ms: number): void {
  timeoutMs = ms;
}

export async function runProgram(path: string, options: LoadOptions = {}): Promise<EvaluatedStack> {
  try {
    return await runOnThisThread(path, options, timeoutMs, sharesThisSdk() ? "require" : "import");
  } catch (err) {
    if (!(err instanceof NeedsWorker)) throw err;
  }
  return runInWorker(path, options);
}

/** What the main thread asks the worker. */
export interface ProgramRequest {
  path: string;
  options: LoadOptions;
}

/**
 * What the worker answers: the evaluated stack as JSON text (one string crosses threads far faster
 * than thousands of objects), or its error as plain data (classes do not cross threads).
 */
export type ProgramReply =
  | { evaluated: string; warnings: Diagnostic[] }
  | {
      error:
        | { kind: "diagnostics"; message: string; diagnostics: Diagnostic[] }
        | { kind: "cli"; message: string; exitCode: number }
        | { kind: "bug"; message: string };
    };

// The worker's entry is plain JavaScript, so that an installed copy (TypeScript under
// node_modules, which Node does not strip) can register tsx's loader before importing it.
const bootstrap = `
const { workerData } = require("node:worker_threads");
require("node:module").enableCompileCache?.();
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;
const entry = new URL("./program-worker.ts", import.meta.url).href;
const tsx = import.meta.url.includes("/node_modules/") ? import.meta.resolve("tsx/esm/api") : undefined;

function runInWorker(path: string, options: LoadOptions): Promise<EvaluatedStack> {
  const worker = new Worker(bootstrap, { eval: true, workerData: { entry, tsx } });
  return new Promise<EvaluatedStack>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.removeAllListeners("message");
      worker.removeAllListeners("exit");
      worker.on("error", () => undefined); // whatever the program does after it was evaluated is not heard
      void worker.terminate();
      outcome();
    };
    const bug = (err: Error) =>
      settle(() =>
        reject(
          (err as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY"
            ? new CliError(`program ${path} ran out of memory while it was evaluated`)
            : new CliError(`program ${path} could not be run; this is a bug in virtform, please report it:\n${err.stack ?? err.message}`),
        ),
      );
    const timer =
      timeoutMs > 0
        ? setTimeout(() => settle(() => reject(new CliError(limitMessage(path, timeoutMs)))), Math.min(MAX_TIMER_MS, timeoutMs))
        : undefined;
    worker.once("message", (reply: ProgramReply) =>
      settle(() => {
        if ("error" in reply) return reject(rebuild(reply.error));
        // A caller that collects the warnings (review, check) gets them as the thread's own run gives them.
        if (options.warnings) options.warnings.push(...reply.warnings);
        else for (const w of reply.warnings) process.stderr.write(`Warning: ${formatDiagnostic(w)}\n`);
        resolve(JSON.parse(reply.evaluated) as EvaluatedStack);
      }),
    );
    worker.once("exit", (code) => settle(() => reject(new CliError(endedMessage(path, code)))));
    worker.on("error", bug);
    worker.postMessage({ path, options } satisfies ProgramRequest);
  });
}

function rebuild(error: Extract<ProgramReply, { error: unknown }>["error"]): Error {
  if (error.kind === "diagnostics") return new DiagnosticsError(error.diagnostics, error.message);
  if (error.kind === "cli") return new CliError(error.message, error.exitCode);
  return new CliError(`loading the program failed inside virtform; this is a bug, please report it:\n${error.message}`);
}
