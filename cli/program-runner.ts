// Runs a program where it can be stopped: in a worker thread (cli/program-worker.ts) that imports
// and evaluates it and posts back what it declares. A program that never returns is terminated
// after the time limit (--program-timeout, default 60 s) and reported as such; one that calls
// process.exit, or throws where nothing catches it, ends its worker, never the command.
// The worker is started as the command starts (bin/virtform.mjs), so that its own start-up (a
// second V8 isolate loading the SDK) runs beside the main thread's instead of after it.
import { Worker } from "node:worker_threads";
import { DiagnosticsError, formatDiagnostic, type Diagnostic } from "../core/model.ts";
import type { EvaluatedStack } from "../sdk/evaluate.ts";
import { CliError } from "./cli-error.ts";
import type { LoadOptions } from "./program.ts";

export const DEFAULT_PROGRAM_TIMEOUT_MS = 60_000;

/** Set from the global `--program-timeout` option; 0 means no limit. */
let timeoutMs = DEFAULT_PROGRAM_TIMEOUT_MS;
export function setProgramTimeout(ms: number): void {
  timeoutMs = ms;
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

interface Started {
  worker: Worker;
  /** An error the worker raised before it was asked anything (it could not start: a bug). */
  failed?: Error;
}
let prestarted: Started | undefined;

function start(): Started {
  const worker = new Worker(bootstrap, { eval: true, workerData: { entry, tsx } });
  const started: Started = { worker };
  worker.on("error", (err) => (started.failed ??= err));
  worker.unref(); // a command that never loads a program does not wait for it
  return started;
}

/** Starts the program worker ahead of need; the next runProgram uses it. */
export function prestartProgramWorker(): void {
  prestarted ??= start();
}

export function runProgram(path: string, options: LoadOptions = {}): Promise<EvaluatedStack> {
  const started = prestarted ?? start();
  prestarted = undefined;
  const { worker } = started;
  worker.ref();
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
        ? setTimeout(() => {
            const limit = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000}s` : `${timeoutMs}ms`;
            const message = `program ${path} did not finish within ${limit} and was stopped: does it loop forever or wait on something? (--program-timeout sets the limit)`;
            settle(() => reject(new CliError(message)));
          }, timeoutMs)
        : undefined;
    worker.once("message", (reply: ProgramReply) =>
      settle(() => {
        if ("error" in reply) return reject(rebuild(reply.error));
        for (const w of reply.warnings) process.stderr.write(`Warning: ${formatDiagnostic(w)}\n`);
        resolve(JSON.parse(reply.evaluated) as EvaluatedStack);
      }),
    );
    worker.once("exit", (code) =>
      settle(() =>
        reject(new CliError(`program ${path} ended before it was evaluated (exit code ${code}): does it call process.exit, or await something that never settles?`)),
      ),
    );
    if (started.failed) bug(started.failed);
    else {
      worker.removeAllListeners("error");
      worker.on("error", bug);
      worker.postMessage({ path, options } satisfies ProgramRequest);
    }
  });
}

function rebuild(error: Extract<ProgramReply, { error: unknown }>["error"]): Error {
  if (error.kind === "diagnostics") return new DiagnosticsError(error.diagnostics, error.message);
  if (error.kind === "cli") return new CliError(error.message, error.exitCode);
  return new CliError(`loading the program failed inside virtform; this is a bug, please report it:\n${error.message}`);
}
