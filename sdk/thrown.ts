// What a program threw, as a diagnostic: its message and the program's line, never its stack (the
// frames are ours and Node's, not something a user can act on).
import type { Diagnostic } from "../core/model.ts";
import { describeValue } from "./names.ts";
import { locationInStack } from "./source-location.ts";

export function thrownDiagnostic(prefix: string, err: unknown): Diagnostic {
  let source;
  try {
    const stack = (err as { stack?: unknown } | null)?.stack;
    if (typeof stack === "string") source = locationInStack(stack);
  } catch {
    // an error whose stack getter throws still has a message
  }
  return { severity: "error", message: `${prefix}: ${describeThrown(err)}`, ...(source ? { source } : {}) };
}

/** "TypeError: x is not a function", or the thrown value itself when it is not an Error. */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error || (typeof err === "object" && err !== null && typeof (err as Error).message === "string")) {
      const { name, message } = err as Error;
      return `${typeof name === "string" && name ? name : "Error"}: ${message}`;
    }
    return describeValue(err);
  } catch {
    return "a value that cannot be shown";
  }
}
