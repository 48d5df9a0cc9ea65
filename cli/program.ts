// Loads a user's program: imports the TypeScript module, checks it exports a stack, and evaluates it
// into desired resources. `virtform` inside the program resolves to this SDK wherever the file is.
import { existsSync } from "node:fs";
import { registerHooks } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DiagnosticsError } from "../engine/model.ts";
import { evaluateStack, type EvaluatedStack } from "../sdk/evaluate.ts";
import { isStackDefinition } from "../sdk/stack.ts";
import { CliError } from "./cli-error.ts";

const sdkEntry = new URL("../sdk/index.ts", import.meta.url).href;
let hooked = false;

function resolveVirtformToThisSdk(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "virtform") return { url: sdkEntry, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}

export async function loadProgram(path: string): Promise<EvaluatedStack> {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new CliError(`program ${path} not found; pass the path of a program (default ./infra.ts)`);
  }
  resolveVirtformToThisSdk();
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new CliError(`program ${path} failed to load: ${(err as Error).stack ?? String(err)}`);
  }
  if (!isStackDefinition(module.default)) {
    throw new CliError(`program ${path} must have a default export made by stack(): export default stack("name", (s) => { ... })`);
  }
  const evaluated = evaluateStack(module.default);
  const errors = evaluated.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new DiagnosticsError(errors, `program ${path} has ${errors.length} error${errors.length === 1 ? "" : "s"}`);
  return evaluated;
}
