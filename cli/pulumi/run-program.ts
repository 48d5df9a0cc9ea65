// Runs a Pulumi program the way the Pulumi CLI's nodejs language host does (node
// @pulumi/pulumi/cmd/run against a resource monitor), with virtform's own monitor, and turns what it
// registered into the desired resources and outputs plan and apply take from a native program.
import { spawn } from "node:child_process";
import { createRequire, getCompileCacheDir } from "node:module";
import { dirname, relative } from "node:path";
import { DiagnosticsError, formatDiagnostic } from "../../core/model.ts";
import { applyLockfile } from "../../images/apply-lockfile.ts";
import { LockContext } from "../../images/lock-context.ts";
import { addressOfUrn, kindOfToken } from "../../provider/pulumi/tokens.ts";
import { CliError } from "../cli-error.ts";
import { desiredResources, type PulumiStack } from "./desired.ts";
import { startMonitor, type LogEntry, type Monitor, type Registration } from "./monitor.ts";
import type { Duplex } from "node:stream";
import { placeholder, placeholderProperties } from "./placeholders.ts";
import { readProject, stackNameOf, type PulumiProject } from "./project.ts";
import type { State } from "../../engine/state.ts";
import { secretPathsOf } from "../../sdk/kinds/index.ts";

const cmdRun = dirname(createRequire(import.meta.url).resolve("@pulumi/pulumi/cmd/run/index.js"));
const childHooks = new URL("./child-hooks.ts", import.meta.url).href;
/** cmd/run's exit code for an error it has already reported through Engine.Log. */
const ERROR_REPORTED = 32;

export interface LoadOptions {
  stack?: string;
  locks?: boolean;
  packages?: string[];
  allowUnlocked?: boolean;
}

/** The resources answered with what state holds for them: applied, and planned unchanged. */
export interface Answers {
  state: State;
  settled: ReadonlySet<string>;
}

/** One run of the program (its first pass: every output of ours a placeholder). */
export async function loadPulumiProgram(dir: string, options: LoadOptions): Promise<PulumiStack> {
  return (await runPass(readProject(dir, options.stack), options)).stack;
}

/**
 * One pass: the program run against virtform's monitor, what it registered as desired resources,
 * and how many program functions were not run because they read an output not known yet.
 */
export async function runPass(project: PulumiProject, options: LoadOptions & { quiet?: boolean }, answers?: Answers): Promise<{ stack: PulumiStack; skipped: number }> {
  const monitor = await startMonitor({
    project: project.name,
    stack: project.stack,
    dryRun: true,
    answer: (r) => answerRegistration(r, answers),
    onLog: printLog,
  });
  let code: number;
  let signal: NodeJS.Signals | null;
  let skipped: number;
  try {
    [code, signal, skipped] = await runChild(project, monitor);
  } finally {
    await monitor.close();
  }
  if (code !== 0) {
    const errors = monitor.logs.filter((l) => l.severity === "error").map((l) => readable(l.message));
    const why = code === ERROR_REPORTED && errors.length > 0 ? `:\n  ${errors.join("\n  ")}` : signal ? ` (killed by ${signal})` : ` (exit code ${code}; its output is above)`;
    throw new CliError(`the Pulumi program ${shown(project.main)} failed${why}`);
  }
  // Image variants are locked as a native program's are, by virtform.lock beside the program file.
  const locks =
    options.locks === false
      ? undefined
      : new LockContext(project.main, relative(process.cwd(), project.dir) || ".", {
          ...(options.packages ? { packages: options.packages } : {}),
          allowUnlocked: options.allowUnlocked === true,
        });
  const stack = desiredResources(stackNameOf(project), monitor.registrations, monitor.stackOutputs);
  if (locks) {
    await applyLockfile(stack, locks);
  }
  stack.diagnostics.push(...(locks?.errors ?? []));
  if (!options.quiet) {
    for (const w of [...(locks?.warnings ?? []), ...stack.diagnostics.filter((d) => d.severity === "warning")]) process.stderr.write(`Warning: ${formatDiagnostic(w)}\n`);
  }
  const errors = stack.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new DiagnosticsError(errors, `the Pulumi program ${shown(project.main)} has ${errors.length} error${errors.length === 1 ? "" : "s"}`);
  return { stack, skipped };
}

const shown = (file: string) => relative(process.cwd(), file) || file;

/**
 * A resource of ours gets what state holds for it once it is settled (applied, and unchanged by this
 * pass), else placeholders for its id and outputs; anything else (a provider) its inputs.
 */
function answerRegistration(r: Registration, answers: Answers | undefined) {
  const kind = kindOfToken(r.type);
  if (!kind) return { id: placeholder(r.name, "id"), properties: r.inputs };
  const address = addressOfUrn(r.urn);
  const prior = answers?.settled.has(address) ? answers.state.resources[address] : undefined;
  if (prior && prior.kind === kind) {
    return { id: prior.id, properties: { ...prior.inputs, ...prior.outputs }, secretPaths: [...r.additionalSecretOutputs, ...secretPathsOf(kind, prior.secretPaths)] };
  }
  return { ...placeholderProperties(kind, address, r.inputs), secretPaths: r.additionalSecretOutputs };
}

/** An error the SDK logged, without its terminal colours and the frames of Node and the SDK. */
export function readable(message: string): string {
  return message
    .replace(/\u001b\[[0-9;]*m/g, "")
    .replace(/<ref \*\d+> /g, "")
    // cmd/run's preamble for an error the program did not catch: virtform already says the program failed.
    // (Whether an error reaches it or the SDK's own report first depends on timing.)
    .replace(/^Running program '.*' failed with an unhandled exception:\n/, "")
    .split("\n")
    // util.inspect's extras: the rejected promise the SDK hangs on the error, and its closing brace
    // virtform's hooks in the program's process (child-hooks.ts) are no frames of the program either
    .filter((line) => !/^\s*at .*(node:internal|\/node_modules\/|\/cli\/pulumi\/child-hooks\.ts:)/.test(line) && !/^\s*promise: Promise \{.*\}$/.test(line))
    .join("\n  ")
    .replace(/\n {2}\}$/, "")
    .trim();
}

function printLog(entry: LogEntry): void {
  // Errors are reported once, when the run fails; debug output is Pulumi's own tracing.
  if (entry.severity === "info" || entry.severity === "warning") {
    process.stderr.write(`${entry.severity === "warning" ? "Warning: " : ""}${entry.message.trimEnd()}\n`);
  }
}

function runChild(project: PulumiProject, served: Monitor): Promise<[number, NodeJS.Signals | null, number]> {
  const monitor = served.address;
  const args = [
    // The SDK makes many short-lived objects per resource: a larger young generation lets fewer of
    // them reach the old one (less GC time, and a smaller peak RSS at a thousand resources).
    "--max-semi-space-size=16",
    "--import",
    childHooks,
    cmdRun,
    `--monitor=${monitor}`,
    `--engine=${monitor}`,
    `--project=${project.name}`,
    `--stack=${project.stack}`,
    `--root-directory=${project.dir}`,
    `--pwd=${project.dir}`,
    "--dry-run",
    project.main,
  ];
  const env = {
    ...process.env,
    // The SDK is a lot of JavaScript: the program's process shares the CLI's compile cache.
    ...(getCompileCacheDir() ? { NODE_COMPILE_CACHE: getCompileCacheDir() } : {}),
    PULUMI_CONFIG: JSON.stringify(project.config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(project.secretKeys),
    // child-hooks.ts writes a byte here for each program function it did not run.
    VIRTFORM_PULUMI_SKIPS_FD: "3",
    // The monitor's calls: over this pipe rather than gRPC (pipe-client.ts).
    VIRTFORM_PULUMI_PIPE_FD: "4",
  };
  return new Promise((resolve, reject) => {
    // The program's own output goes to stderr: stdout is the plan's (plan --json stays JSON).
    const child = spawn(process.execPath, args, { cwd: project.dir, env, stdio: ["ignore", "pipe", "inherit", "pipe", "pipe"] });
    served.servePipe(child.stdio[4] as Duplex);
    child.stdout!.pipe(process.stderr, { end: false });
    let skipped = 0;
    child.stdio[3]!.on("data", (chunk: Buffer) => (skipped += chunk.length));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve([code ?? 1, signal, skipped]));
  });
}

