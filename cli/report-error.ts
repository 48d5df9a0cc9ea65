// The one place an error becomes what a user reads. A VirtformError (any layer's: a refused option,
// a locked state, a capacity refusal) is its message, without a trace; diagnostics are listed one a
// line. Anything else is virtform's own fault: it says so, with the trace to report.
import { VirtformError } from "../core/virtform-error.ts";
import { DiagnosticsError, formatDiagnostic } from "../core/model.ts";
import { CliError } from "./cli-error.ts";

export interface ErrorReport {
  /** What is printed (to stderr), ending in a newline. */
  text: string;
  exitCode: number;
  /** The error was not one virtform means a user to read. */
  bug: boolean;
}

export function describeError(err: unknown): ErrorReport {
  if (err instanceof DiagnosticsError) {
    // A diagnostic's continuation lines (a solver's explanation) are indented under its first.
    const lines = err.diagnostics.map((d) => `  ${formatDiagnostic(d).replaceAll("\n", "\n    ")}\n`);
    return { text: `Error: ${err.message}\n${lines.join("")}`, exitCode: 1, bug: false };
  }
  if (err instanceof VirtformError) {
    return { text: `Error: ${err.message}\n`, exitCode: err instanceof CliError ? err.exitCode : 1, bug: false };
  }
  return { text: `Error: virtform failed unexpectedly; this is a bug in virtform, please report it with what follows:\n${trace(err)}\n`, exitCode: 1, bug: true };
}

/** Why a step failed, for apply's summary: the error's message, or, for an unexpected error, that it is a bug and its trace. */
export function describeStepError(thrown: unknown): string {
  if (thrown instanceof VirtformError) return thrown.message;
  return `${thrown instanceof Error ? thrown.message : String(thrown)}\n  this is a bug in virtform, please report it with what follows:\n  ${trace(thrown).replaceAll("\n", "\n  ")}`;
}

function trace(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Prints the report of `err`; returns the exit code. */
export function reportError(err: unknown): number {
  const report = describeError(err);
  process.stderr.write(report.text);
  return report.exitCode;
}
