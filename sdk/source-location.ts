// Where in the user's program a resource was declared: the first stack frame outside the SDK.
// Frames are read as V8 call sites rather than as a formatted stack: formatting maps every frame
// through source maps, which was most of the cost of declaring thousands of resources. Positions
// are those of the code Node ran: exact for a program loaded with Node's own type stripping (it
// keeps every line and column), and mapped back through the loader's source map, one frame per
// declaration, when a loader rewrote the file (tsx).
import { findSourceMap, type SourceMap } from "node:module";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceLocation } from "../core/model.ts";

const sdkDir = fileURLToPath(new URL(".", import.meta.url));
const callSites = (_: Error, sites: NodeJS.CallSite[]) => sites;
/** Whether locations carry the outer frames too (a review maps calls through helper functions). */
let withCallers = false;

/** Turns on `callers` in every location recorded from now on; off by default (plans and state do not need them). */
export function recordCallers(on: boolean): void {
  withCallers = on;
}

// A declaration's frames are the SDK's own (two: the declaring method and declare), then the user's:
// a short capture first, a longer one only when it holds no frame of the user's. Each frame costs
// its capture (about 0.6 µs without TurboFan: 6 frames instead of 3 were 2 % of a plan of 5,000).
const SHORT_LIMIT = 3;
const LONG_LIMIT = 12;
const CALLERS_LIMIT = 24;

function capture(limit: number): NodeJS.CallSite[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  Error.prepareStackTrace = callSites;
  Error.stackTraceLimit = limit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.captureStackTrace(holder, callerLocation);
  const sites = holder.stack ?? []; // formatted when first read: with callSites in place
  Error.prepareStackTrace = prepareStackTrace;
  Error.stackTraceLimit = stackTraceLimit;
  return sites;
}

export function callerLocation(): SourceLocation | undefined {
  if (withCallers) return locationIn(capture(CALLERS_LIMIT));
  return locationIn(capture(SHORT_LIMIT)) ?? locationIn(capture(LONG_LIMIT));
}

function locationIn(sites: NodeJS.CallSite[]): SourceLocation | undefined {
  let found: SourceLocation | undefined;
  for (const site of sites) {
    const name = site.getFileName();
    if (!name || name.startsWith("node:")) continue;
    const { file, outside } = frameFile(name);
    if (found) {
      // The user's frames up to the SDK's own call of the stack's build function.
      if (!outside) break;
      (found.callers ??= []).push(mapped(name, file, site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0));
      continue;
    }
    if (!outside) continue;
    found = mapped(name, file, site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0);
    if (!withCallers) return found;
  }
  return found;
}

interface FrameFile {
  file: string;
  /** The user's code: not the SDK, not a package, not Node. */
  outside: boolean;
  /** The path as shown, relative to the working directory it was worked out in. */
  display?: string;
  /** The loader's source map of the file, looked up once (null: none); a file is loaded before its code runs. */
  sourceMap?: SourceMap | null;
}

/** Per frame file name, what it is: thousands of declarations share a handful of files. */
const frameFiles = new Map<string, FrameFile>();
let displayedFrom = "";

function frameFile(name: string): FrameFile {
  let known = frameFiles.get(name);
  if (!known) {
    // A program re-imported after a change carries its text's digest as a query (cli/program.ts).
    const file = name.startsWith("file://") ? fileURLToPath(name.replace(/\?.*$/, "")) : name.replace(/\?text=[0-9a-f]+$/, "");
    known = { file, outside: !file.startsWith(sdkDir) && !file.includes("/node_modules/") };
    frameFiles.set(name, known);
  }
  return known;
}

/**
 * Where in the user's program an error was thrown: the first frame of its formatted stack outside
 * the SDK and outside Node, for errors thrown by a program (whose stack we do not print).
 */
export function locationInStack(stack: string): SourceLocation | undefined {
  for (const line of stack.split("\n")) {
    const match = /^\s+at (?:.*\()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!match) continue;
    const name = match[1]!;
    if (name.startsWith("node:") || name.includes("<anonymous>")) continue;
    const file = name.startsWith("file://") ? fileURLToPath(name.replace(/\?.*$/, "")) : name;
    if (file.startsWith(sdkDir) || file.includes("/node_modules/") || !file.startsWith("/")) continue;
    return { file: display(file), line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

/** The position in the file the user wrote, from a 1-based position in the code Node ran. */
function mapped(name: string, file: string, line: number, column: number): SourceLocation {
  const known = frameFile(name);
  if (known.sourceMap === undefined) known.sourceMap = findSourceMap(name) ?? null;
  const entry = known.sourceMap?.findEntry(line - 1, column - 1);
  if (entry && "originalLine" in entry) {
    const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : entry.originalSource;
    return { file: display(source || file), line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  }
  return { file: displayOf(name), line, column };
}

/** display() of a frame file's path, worked out once per file and working directory. */
function displayOf(name: string): string {
  const cwd = process.cwd();
  if (cwd !== displayedFrom) {
    for (const known of frameFiles.values()) delete known.display;
    displayedFrom = cwd;
  }
  const known = frameFile(name);
  return (known.display ??= display(known.file));
}

function display(file: string): string {
  return relative(process.cwd(), file) || file;
}
