// The program's types stripped on another thread while this one loads the CLI. Node strips a
// TypeScript file the first time it sees it (a new or changed program misses V8's compile cache),
// and its stripper (a WebAssembly module) takes about 80 ms to start: on a second core that time
// overlaps the CLI's own start instead of following it. The bin starts the strip before it loads the
// CLI (`startPrestrip`), from a guess of the program's path; the program loader takes the result
// only for that very file with that very text (`prestripped`), and otherwise Node strips as usual.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

/** The commands that load a program before anything else (`--pulumi` loads another kind). */
const PROGRAM_COMMANDS = new Set(["plan", "preview", "apply", "destroy", "refresh"]);
/** The global options that take a value as the next word (cli/main.ts). */
const GLOBAL_VALUE_OPTIONS = new Set(["--endpoint", "--program-timeout", "--backend"]);
const DEFAULT_PROGRAM = "infra.ts";
/** The longest the loader waits for a strip under way before it strips the file itself. */
const WAIT_MS = 5000;

/** What the worker posts: the file, the text it stripped, the code, and its module format when the file does not say. */
export interface Prestripped {
  file: string;
  text: string;
  code: string;
  /** How Node would read the code if nothing else decided: an ES module when it has import or export. */
  detected: "module" | "commonjs";
}

// Plain JavaScript, so that the worker starts without loading any TypeScript. A strip that fails
// (an enum, a syntax error) posts nothing: the loader then meets Node's own error.
const worker = `
const { workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const { Script } = require("node:vm");
const module = require("node:module");
const done = new Int32Array(workerData.done);
try {
  process.emitWarning = () => {}; // stripTypeScriptTypes says it is experimental, once per process
  const text = readFileSync(workerData.file, "utf8");
  const code = module.stripTypeScriptTypes(text, { mode: "strip" });
  let detected = "commonjs";
  try {
    new Script(code, { filename: workerData.file });
  } catch (err) {
    if (!(err instanceof SyntaxError) || !/import statement outside a module|Unexpected token 'export'|'import\\.meta' outside a module/.test(err.message)) throw err;
    detected = "module";
  }
  workerData.port.postMessage({ file: workerData.file, text, code, detected });
} catch {
  // Node strips the file itself, and reports what is wrong with it
}
Atomics.store(done, 0, 1);
Atomics.notify(done, 0);
`;

let started: { file: string; port: MessagePort; done: Int32Array; worker: Worker } | undefined;

/** The program a command line names: its first argument ending in .ts (or .mts, .cts), else infra.ts. */
export function guessProgram(args: readonly string[], cwd: string): string | undefined {
  // The command is the first word that is neither an option nor the value of a global option.
  let at = 0;
  while (at < args.length && args[at]!.startsWith("-")) at += GLOBAL_VALUE_OPTIONS.has(args[at]!) ? 2 : 1;
  const command = args[at];
  if (!command || !PROGRAM_COMMANDS.has(command) || args.includes("--pulumi")) return undefined;
  const after = args.slice(at + 1);
  const named = after.find((a) => /\.[cm]?ts$/.test(a));
  // Another existing file is a saved plan (`apply FILE`): no program is loaded.
  if (!named && after.some((a) => !a.startsWith("-") && existsSync(resolve(cwd, a)) && !/\.[cm]?ts$/.test(a))) return undefined;
  const file = resolve(cwd, named ?? DEFAULT_PROGRAM);
  return existsSync(file) ? file : undefined;
}

/** Starts stripping the program the command line names, if it names one that exists. */
export function startPrestrip(args: readonly string[]): void {
  const file = guessProgram(args, process.cwd());
  if (!file) return;
  const { port1, port2 } = new MessageChannel();
  const done = new SharedArrayBuffer(4);
  const thread = new Worker(worker, { eval: true, workerData: { file, port: port2, done }, transferList: [port2], stdout: true, stderr: true });
  thread.unref();
  thread.on("error", () => undefined);
  started = { file, port: port1, done: new Int32Array(done), worker: thread };
}

/** The stripped code of `file` if the worker stripped exactly this text; waits for a strip under way. */
export function prestripped(file: string, text: string): Prestripped | undefined {
  if (!started || started.file !== file) return undefined;
  const { port, done, worker: thread } = started;
  started = undefined;
  Atomics.wait(done, 0, 0, WAIT_MS);
  const message = receiveMessageOnPort(port)?.message as Prestripped | undefined;
  port.close();
  void thread.terminate();
  return message?.text === text ? message : undefined;
}
