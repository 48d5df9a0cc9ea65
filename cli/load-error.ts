// Why a program failed to load, said as `file:line:col: message`: a syntax error with its line and a
// caret, a module that cannot be found, or what the program's top-level code threw. Node's own
// frames (ten of them for a syntax error) are no use to the user and are never printed.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatDiagnostic } from "../core/model.ts";
import { describeThrown, thrownDiagnostic } from "../sdk/thrown.ts";
import { CliError } from "./cli-error.ts";

export function loadError(path: string, err: unknown): CliError {
  const { name, code, stack } = (typeof err === "object" && err !== null ? err : {}) as { name?: unknown; code?: unknown; stack?: unknown };
  if ((name === "SyntaxError" || code === "ERR_INVALID_TYPESCRIPT_SYNTAX") && typeof stack === "string") {
    const syntax = syntaxErrorAt(stack, (err as Error).message);
    if (syntax) return new CliError(`program ${path} has a syntax error:\n  ${syntax}`);
  }
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || code === "ERR_UNSUPPORTED_DIR_IMPORT") {
    // CommonJS appends the chain of requiring files: the program is the one the user knows.
    return new CliError(`program ${path} failed to load: ${describeThrown(err).replace(/^Error: /, "").replace(/\nRequire stack:[^]*$/, "")}`);
  }
  return new CliError(`program ${path} failed to load: ${formatDiagnostic(thrownDiagnostic("the program threw", err))}`);
}

/**
 * Node puts the position first in a syntax error's stack: "FILE:LINE", the source lines around it,
 * and a line of carets under the offending token.
 */
function syntaxErrorAt(stack: string, message: string): string | undefined {
  const lines = stack.split("\n");
  const header = /^(.+):(\d+)$/.exec(lines[0] ?? "");
  if (!header) return undefined;
  const caretIndex = lines.findIndex((line, i) => i > 0 && /^\s*\^+\s*$/.test(line));
  const file = header[1]!.startsWith("file://") ? fileURLToPath(header[1]!.replace(/\?.*$/, "")) : header[1]!;
  const shown = relative(process.cwd(), file) || file;
  if (caretIndex < 2) return `${shown}:${header[2]}: ${message}`;
  const column = lines[caretIndex]!.indexOf("^") + 1;
  return `${shown}:${header[2]}:${column}: ${message}\n    ${lines[caretIndex - 1]}\n    ${lines[caretIndex]}`;
}
