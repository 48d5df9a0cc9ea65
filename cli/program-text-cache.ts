// A program's TypeScript stripped of its types once per text, not once per path. Node's compile cache
// keys what it strips by the file's path, so a program in a new directory (a fresh checkout in CI, a
// temporary directory) had Node load its type stripper, a WebAssembly module, on every run: about
// 40 ms of a plan's start. The stripped text of a program that loaded as an ES module is kept beside
// Node's compile cache (so per Node version, and only when that cache is on), under the digest of the
// TypeScript text, and handed to Node as JavaScript when the same text comes again, if it is that text
// with its types blanked out and nothing else, and only from a directory and file of this user's that
// nobody else can write (0700 and 0600). Entries are not evicted: one per program text, as Node's own
// compile cache keeps one per file.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { getCompileCacheDir, stripTypeScriptTypes, type LoadFnOutput } from "node:module";
import { dirname, join } from "node:path";
import { compileFunction } from "node:vm";

/** What Node loads as TypeScript: ambiguous (no package type) or an ES module by its package's type. */
const STRIPPED_BY_NODE = new Set(["typescript", "module-typescript"]);

/** The text of a program Node loaded this run that has no kept entry yet: kept once it loaded well. */
let unkept: { text: string; entry: string } | undefined;

function entryOf(text: string): string | undefined {
  const dir = getCompileCacheDir();
  return dir ? join(dir, "virtform-programs", `${createHash("sha256").update(text).digest("hex")}.js`) : undefined;
}

/** For the load hook, given what Node loaded for the program's file: its kept JavaScript, or Node's load as it is. */
export function keptOrLoaded(loaded: LoadFnOutput): LoadFnOutput {
  unkept = undefined;
  if (!STRIPPED_BY_NODE.has(loaded.format ?? "") || loaded.source === undefined || loaded.source === null) return loaded;
  const text = typeof loaded.source === "string" ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString("utf8");
  const entry = entryOf(text);
  if (!entry) return loaded;
  let kept: string | undefined;
  try {
    if (writableOnlyByThisUser(dirname(entry)) && writableOnlyByThisUser(entry)) kept = readFileSync(entry, "utf8");
  } catch {
    // not kept yet
  }
  if (kept === undefined || !blankedFrom(kept, text)) {
    unkept = { text, entry };
    return loaded; // Node strips it
  }
  return { format: "module", source: kept, shortCircuit: true };
}

/**
 * Whether `path` is this user's and nobody else can write it (the compile cache's directory is under
 * the shared /tmp by default): what is kept there is run as the program, so only what this user
 * wrote is read.
 */
function writableOnlyByThisUser(path: string): boolean {
  const stat = lstatSync(path);
  return stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0 && !stat.isSymbolicLink();
}

/**
 * Whether `kept` is `text` with some characters blanked, as stripping types leaves it (spaces, and a
 * semicolon where one keeps two lines apart): a kept file that is anything else is not run.
 */
function blankedFrom(kept: string, text: string): boolean {
  if (kept.length !== text.length) return false;
  for (let i = 0; i < kept.length; i++) {
    const c = kept.charCodeAt(i);
    if (c !== text.charCodeAt(i) && c !== 0x20 && c !== 0x3b) return false;
  }
  return true;
}

/**
 * Once the program has loaded: keeps its stripped text for the next run, if it is an ES module. One
 * that also compiles as CommonJS is left to Node's loader (it would load it as CommonJS).
 */
export function keepLoadedText(): void {
  const kept = unkept;
  unkept = undefined;
  if (!kept) return;
  let partial: string | undefined;
  try {
    const code = stripQuietly(kept.text);
    if (compilesAsCommonJs(code)) return;
    mkdirSync(dirname(kept.entry), { recursive: true, mode: 0o700 });
    if (!writableOnlyByThisUser(dirname(kept.entry))) return;
    partial = `${kept.entry}.${process.pid}`;
    writeFileSync(partial, code, { mode: 0o600 });
    renameSync(partial, kept.entry); // whole or absent, also for runs reading it meanwhile
  } catch {
    // a cache: the program loads without it
    if (partial) rmSync(partial, { force: true });
  }
}

/** Node's type stripping (positions kept), without its one-time notice that the API is experimental. */
function stripQuietly(text: string): string {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return stripTypeScriptTypes(text, { mode: "strip" });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** How Node tells an ambiguous file's module system: it is CommonJS when it compiles as a CommonJS module's body. */
function compilesAsCommonJs(code: string): boolean {
  try {
    compileFunction(code, ["exports", "require", "module", "__filename", "__dirname"]);
    return true;
  } catch {
    return false;
  }
}
