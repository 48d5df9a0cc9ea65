// Where in the user's program a resource was declared: the first stack frame outside the SDK.
// Frames are read from the string stack because that is the form Node maps through source maps
// (tsx enables them), so lines point into the .ts file the user wrote.
import { fileURLToPath } from "node:url";
import { relative } from "node:path";
import type { SourceLocation } from "../engine/model.ts";

const sdkDir = fileURLToPath(new URL(".", import.meta.url));
const FRAME = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/;

export function callerLocation(): SourceLocation | undefined {
  // Only the few frames up to the user's call are needed; mapping a whole stack through source maps
  // for every declaration is most of the cost of declaring thousands of resources.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n").slice(1)) {
    const match = FRAME.exec(line.trim());
    if (!match) continue;
    const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
    if (file.startsWith(sdkDir) || file.includes("/node_modules/")) continue;
    return { file: relative(process.cwd(), file) || file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}
