// Loads a user's program: imports the TypeScript module, checks it exports a stack, and evaluates it
// into desired resources. `virtform` inside the program resolves to this SDK wherever the file is.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DiagnosticsError, formatDiagnostic, type DesiredResource, type Diagnostic } from "../core/model.ts";
import { evaluateStack, type EvaluatedStack } from "../sdk/evaluate.ts";
import { isStackDefinition } from "../sdk/stack.ts";
import { CliError } from "./cli-error.ts";
import { loadError } from "./load-error.ts";
import { keepLoadedText, keptOrLoaded } from "./program-text-cache.ts";

const sdkEntry = new URL("../sdk/index.ts", import.meta.url).href;
let hooked = false;
/** The program file being loaded: its text may have been stripped of its types by an earlier run (cli/program-text-cache.ts). */
let programFile: string | undefined;

function resolveVirtformToThisSdk(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "virtform") return { url: sdkEntry, shortCircuit: true };
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (programFile === undefined || !url.startsWith("file:") || fileURLToPath(url.replace(/\?.*$/, "")) !== programFile) return loaded;
      return keptOrLoaded(loaded);
    },
  });
}

// What Node's own type stripping cannot load but TypeScript allows: enums, namespaces and parameter
// properties; imports without an extension; TypeScript under node_modules.
const NEEDS_TRANSPILER = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_MODULE_NOT_FOUND",
  "ERR_UNSUPPORTED_DIR_IMPORT",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
]);
let transpiling = false;

/**
 * Imports the program with Node's type stripping (fast, and its lines and columns are the file's
 * own); a program that needs more of TypeScript is imported again through tsx's loader. The query
 * gives the second try its own module record, as Node keeps the failed one.
 */
async function importProgram(url: string): Promise<{ default?: unknown }> {
  try {
    return (await import(url)) as { default?: unknown };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (transpiling || typeof code !== "string" || !NEEDS_TRANSPILER.has(code)) throw err;
    transpiling = true;
    const { tsImport } = await import("tsx/esm/api");
    const module = (await tsImport(url, import.meta.url).catch((retried: unknown) => {
      // A module the first try could not find leaves the SDK half-loaded for tsx's require: say what was missing.
      throw (retried as { code?: unknown }).code === "ERR_REQUIRE_ESM_RACE_CONDITION" ? err : retried;
    })) as { default?: { default?: unknown } };
    // A program outside a "type": "module" package is CommonJS to tsx: its exports are the default.
    return isStackDefinition(module.default) ? module : (module.default ?? {});
  }
}

export interface LoadOptions {
  /** Use virtform.lock beside the program for image variants (default true); warnings go to stderr. */
  locks?: boolean;
  /** Packages files to resolve variants the lock does not answer against (default: the lock's catalog, or the system apt lists). */
  packages?: string[];
  /** With no catalog reachable, plan unlocked variants by their requested packages alone instead of refusing. */
  allowUnlocked?: boolean;
  /** false: variants the lock does not answer are not resolved against a catalog (their digests cover the request), with a warning. */
  live?: boolean;
  /** Collects the lock warnings here instead of printing them. */
  warnings?: Diagnostic[];
}

/**
 * How the program's own code is run. Every CLI command bounds it in time (cli/program-guard.ts);
 * the benchmarks and in-process callers run it as it is.
 */
export interface ProgramGuard {
  /** Imports the program's module (its top-level code runs); errors come back phrased for the user. */
  importModule(file: string, path: string): Promise<{ default?: unknown }>;
  /** Runs code that calls into the program: its build function, through evaluateStack. */
  run<T>(fn: () => T): T;
}

// A process that loads programs more than once (tests run the CLI in process) imports a program whose
// file changed under a new URL: Node keeps a module once imported, and would run the old text again.
const importedText = new Map<string, string>();
function programUrl(file: string): string {
  const url = pathToFileURL(file).href;
  const digest = createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
  const first = importedText.get(file);
  if (first === undefined) importedText.set(file, digest);
  return first === undefined || first === digest ? url : `${url}?text=${digest}`;
}

export const unguarded: ProgramGuard = {
  async importModule(file, path) {
    try {
      return await importProgram(programUrl(file));
    } catch (err) {
      throw loadError(path, err);
    }
  },
  run: (fn) => fn(),
};

export async function loadProgram(path: string, options: LoadOptions = {}, guard: ProgramGuard = unguarded): Promise<EvaluatedStack> {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new CliError(`program ${path} not found; pass the path of a program (default ./infra.ts)`);
  }
  resolveVirtformToThisSdk();
  programFile = file;
  let module: { default?: unknown };
  try {
    module = await guard.importModule(file, path);
  } finally {
    programFile = undefined;
  }
  const definition = module.default;
  if (!isStackDefinition(definition)) {
    throw new CliError(`program ${path} must have a default export made by stack(): export default stack("name", (s) => { ... })`);
  }
  keepLoadedText();
  const evaluated = guard.run(() => evaluateStack(definition));
  if (options.locks !== false && evaluated.resources.some((r) => r.kind === "Image")) {
    // Loaded for a program with images only (the package resolver is a dozen modules).
    const [{ applyLockfile }, { LockContext }] = await Promise.all([import("../images/apply-lockfile.ts"), import("../images/lock-context.ts")]);
    // A lock or a catalog that cannot be read is an ImagesError, reported as such; anything else thrown is a bug.
    const locks = new LockContext(file, path, { ...(options.packages ? { packages: options.packages } : {}), allowUnlocked: options.allowUnlocked === true });
    await applyLockfile(evaluated, locks, { live: options.live !== false });
    evaluated.diagnostics.push(...locks.errors.map(locatedIn(evaluated.resources)));
    const warnings = locks.warnings.map(locatedIn(evaluated.resources));
    if (options.warnings) options.warnings.push(...warnings);
    else for (const w of warnings) process.stderr.write(`Warning: ${formatDiagnostic(w)}\n`);
  }
  const errors = evaluated.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    // Errors the type checker would have caught first, with a "did you mean": say where to get it.
    const typeError = errors.some((e) => /^(unknown field|Invalid input: expected)/.test(e.message));
    const hint = typeError ? `; \`virtform check ${path}\` type-checks it and suggests fixes` : "";
    throw new DiagnosticsError(errors, `program ${path} has ${errors.length} error${errors.length === 1 ? "" : "s"}${hint}`);
  }
  return evaluated;
}

/** A diagnostic about a resource, placed at the resource's declaration in the program. */
function locatedIn(resources: readonly DesiredResource[]): (d: Diagnostic) => Diagnostic {
  const sources = new Map(resources.map((r) => [r.address, r.source]));
  return (d) => {
    const source = d.address === undefined ? undefined : sources.get(d.address);
    return d.source || !source ? d : { ...d, source };
  };
}
