// Commands that change state without planning: state rm / state mv, import (operations/import.ts),
// force-unlock. Each takes the state lock and writes through the same journal as apply.
import { readFileSync } from "node:fs";
import { own } from "../../core/own.ts";
import type { ImportRequest } from "../../engine/import-check.ts";
import { importObjects } from "../../operations/import.ts";
import type { StateRecord } from "../../engine/state.ts";
import { kindsByPrefix } from "../../sdk/kinds/index.ts";
import { CliError } from "../cli-error.ts";
import { runProgram } from "../program-runner.ts";
import { withArticle } from "../../core/article.ts";
import { parseDuration } from "../duration.ts";
import { noteStaleLock, Workspace } from "../workspace.ts";

async function editState(
  stackOption: string | undefined,
  operation: string,
  lockTimeout: string | undefined,
  edit: (state: Awaited<ReturnType<ReturnType<Workspace["stateStore"]>["load"]>>, workspace: Workspace) => Promise<StateRecord[]>,
): Promise<void> {
  const workspace = new Workspace();
  const stack = workspace.pickStack(stackOption);
  const lock = await workspace.lock(stack, operation, parseDuration(lockTimeout));
  try {
    const store = workspace.stateStore(stack);
    const state = await store.load();
    const records = await edit(state, workspace);
    for (const record of records) await store.record(state, record);
    await store.commit(state);
  } finally {
    lock.release();
  }
}

export async function stateRmCommand(addresses: string[], options: { stack?: string; lockTimeout?: string }): Promise<number> {
  await editState(options.stack, "state rm", options.lockTimeout, async (state, workspace) => {
    const missing = addresses.filter((a) => !own(state.resources, a));
    if (missing.length > 0) throw new CliError(`not in state: ${missing.join(", ")}; nothing was removed`);
    // Let go of the objects in the backend too: forgotten is not lost (see lost-objects.ts).
    const provider = await workspace.provider(state.stack);
    for (const a of addresses) await provider.setOwner(state.resources[a]!.kind, state.resources[a]!.id, null);
    return addresses.map((address) => ({ type: "remove" as const, address }));
  });
  for (const a of addresses) process.stdout.write(`Removed ${a} from state (the object itself is left as it is).\n`);
  return 0;
}

export async function stateMvCommand(from: string, to: string, options: { stack?: string; lockTimeout?: string }): Promise<number> {
  await editState(options.stack, "state mv", options.lockTimeout, async (state, workspace) => {
    const resource = own(state.resources, from);
    if (!resource) throw new CliError(`${from} is not in state`);
    if (own(state.resources, to)) throw new CliError(`${to} is already in state; remove it first`);
    if (prefixKind(to) !== resource.kind) throw new CliError(`${to} names ${withArticle(prefixKind(to) ?? "unknown kind of")} resource, but ${from} is ${withArticle(resource.kind)}`);
    await (await workspace.provider(state.stack)).setOwner(resource.kind, resource.id, { stack: state.stack, lineage: state.lineage, address: to });
    return [{ type: "move", from, to }];
  });
  process.stdout.write(`Moved ${from} to ${to}.\n`);
  return 0;
}

/** The kind an address names by its prefix: "volume.data" is a Volume. */
export function prefixKind(address: string): string | undefined {
  return kindsByPrefix.get(address.split(".")[0]!);
}

/**
 * `import ADDRESS ID`, or many at once from a file of "ADDRESS ID" lines (`--from FILE`). Like
 * Terraform, the program must declare each address; an object this stack or another stack in this
 * working directory already manages is refused. Every request is checked before any is imported.
 */
export async function importCommand(
  address: string | undefined,
  id: string | undefined,
  options: { stack?: string; from?: string; program?: string; lockTimeout?: string },
): Promise<number> {
  const requests: ImportRequest[] = [];
  const unreadable: string[] = [];
  if (address && id) requests.push({ address, id });
  if (options.from) {
    for (const [n, line] of readFileSync(options.from, "utf8").split("\n").entries()) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith("#")) continue;
      const [a, i, extra] = trimmed.split(/\s+/);
      if (!a || !i || extra) unreadable.push(`${options.from}:${n + 1}: expected "ADDRESS ID", got "${trimmed}"`);
      else requests.push({ address: a, id: i, origin: `${options.from}:${n + 1}` });
    }
  }
  if (requests.length === 0 && unreadable.length === 0) {
    throw new CliError('import needs ADDRESS and ID, or --from FILE with one "ADDRESS ID" per line');
  }
  const programPath = options.program ?? "infra.ts";
  const program = await runProgram(programPath, { locks: false });
  if (options.stack && options.stack !== program.name) {
    throw new CliError(`--stack ${options.stack}, but ${programPath} declares stack "${program.name}"`);
  }
  const workspace = new Workspace();
  await importObjects(
    { store: workspace.stateStore(program.name), provider: () => workspace.provider(program.name), onEvent: (e) => e.type === "stale-lock-taken" && noteStaleLock(e.holder) },
    { stack: program.name, resources: program.resources },
    requests,
    {
      programPath,
      kindsByPrefix,
      others: () => workspace.stacks().filter((s) => s !== program.name).map((s) => workspace.peekState(s)),
      unreadable,
      lockTimeoutMs: parseDuration(options.lockTimeout),
    },
  );
  for (const { address: a, id: i } of requests) process.stdout.write(`Imported ${i} as ${a}.\n`);
  process.stdout.write("Run virtform plan to see how the program compares with what was imported.\n");
  return 0;
}

export async function forceUnlockCommand(id: string, options: { stack?: string }): Promise<number> {
  const workspace = new Workspace();
  const stack = workspace.pickStack(options.stack);
  const holder = workspace.stateStore(stack).forceUnlock(id);
  process.stdout.write(`Removed the lock held by ${holder.who} (pid ${holder.pid}) for ${holder.operation} since ${holder.created}.\n`);
  return 0;
}
