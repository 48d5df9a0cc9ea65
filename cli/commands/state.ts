// state list / state show, and output: read-only views of a stack's state.
import { kindInfo } from "../../sdk/kinds/index.ts";
import { redact, secretPaths } from "../../core/secret-paths.ts";
import { formatSource } from "../../core/model.ts";
import { own } from "../../core/own.ts";
import { CliError } from "../cli-error.ts";
import { Workspace } from "../workspace.ts";

async function loadState(stack: string | undefined) {
  const workspace = new Workspace();
  return workspace.stateStore(workspace.pickStack(stack)).load();
}

export async function stateListCommand(options: { stack?: string }): Promise<number> {
  const state = await loadState(options.stack);
  for (const address of Object.keys(state.resources).sort()) process.stdout.write(`${address}\n`);
  for (const deposed of state.deposed) process.stdout.write(`${deposed.address} (deposed ${deposed.id})\n`);
  return 0;
}

export async function stateShowCommand(address: string, options: { stack?: string; json?: boolean }): Promise<number> {
  const state = await loadState(options.stack);
  const resource = own(state.resources, address);
  if (!resource) {
    const near = Object.keys(state.resources).filter((a) => a.includes(address.split(".").at(-1) ?? address));
    throw new CliError(`no resource ${address} in state${near.length ? `; did you mean ${near.slice(0, 3).join(", ")}?` : ""}`);
  }
  const kind = kindInfo.get(resource.kind);
  const paths = secretPaths(kind, resource.secretPaths);
  const shown = { ...resource, inputs: redact(resource.inputs, paths), outputs: redact(resource.outputs, paths) };
  if (options.json) {
    process.stdout.write(JSON.stringify({ address, ...shown }, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(`# ${address} (${resource.kind})${resource.source ? ` declared at ${formatSource(resource.source)}` : ""}\n`);
  process.stdout.write(`id = ${JSON.stringify(resource.id)}\n`);
  for (const [section, values] of [["inputs", shown.inputs], ["outputs", shown.outputs]] as const) {
    process.stdout.write(`${section}:\n`);
    for (const [key, value] of Object.entries(values ?? {})) process.stdout.write(`  ${key} = ${JSON.stringify(value)}\n`);
  }
  return 0;
}

/**
 * Outputs that hold secrets are redacted in the list and in JSON unless `--show-secrets`; one output
 * asked for by name is printed as it is (as Terraform does), for scripts that need the value.
 */
export async function outputCommand(
  name: string | undefined,
  options: { stack?: string; json?: boolean; showSecrets?: boolean },
): Promise<number> {
  const state = await loadState(options.stack);
  if (name) {
    if (!Object.hasOwn(state.outputs, name)) throw new CliError(`no output ${name}; outputs: ${Object.keys(state.outputs).join(", ") || "(none)"}`);
    process.stdout.write((options.json ? JSON.stringify(state.outputs[name]) : formatOutput(state.outputs[name])) + "\n");
    return 0;
  }
  const shown = options.showSecrets ? state.outputs : (redact(state.outputs, state.secretOutputs ?? []) ?? {});
  if (options.json) {
    process.stdout.write(JSON.stringify(shown, null, 2) + "\n");
    return 0;
  }
  for (const [key, value] of Object.entries(shown)) process.stdout.write(`${key} = ${JSON.stringify(value)}\n`);
  return 0;
}

function formatOutput(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
