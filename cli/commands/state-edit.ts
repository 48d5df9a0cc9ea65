// Commands that change state without planning: state rm / state mv, import, force-unlock. Each
// takes the state lock and writes through the same journal as apply.
import { readFileSync } from "node:fs";
import { forceUnlock } from "../../engine/state-lock.ts";
import type { StateRecord } from "../../engine/state.ts";
import { kindList } from "../../sdk/kinds/index.ts";
import { CliError } from "../cli-error.ts";
import { parseDuration } from "./plan-apply.ts";
import { Workspace } from "../workspace.ts";

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
    const missing = addresses.filter((a) => !state.resources[a]);
    if (missing.length > 0) throw new CliError(`not in state: ${missing.join(", ")}; nothing was removed`);
    // Let go of the objects in the backend too: forgotten is not lost (see lost-objects.ts).
    const provider = workspace.provider();
    for (const a of addresses) await provider.setOwner(state.resources[a]!.kind, state.resources[a]!.id, null);
    return addresses.map((address) => ({ type: "remove" as const, address }));
  });
  for (const a of addresses) process.stdout.write(`Removed ${a} from state (the object itself is left as it is).\n`);
  return 0;
}

export async function stateMvCommand(from: string, to: string, options: { stack?: string; lockTimeout?: string }): Promise<number> {
  await editState(options.stack, "state mv", options.lockTimeout, async (state, workspace) => {
    const resource = state.resources[from];
    if (!resource) throw new CliError(`${from} is not in state`);
    if (state.resources[to]) throw new CliError(`${to} is already in state; remove it first`);
    if (prefixKind(to) !== resource.kind) throw new CliError(`${to} names a ${prefixKind(to) ?? "unknown kind of"} resource, but ${from} is a ${resource.kind}`);
    await workspace.provider().setOwner(resource.kind, resource.id, { stack: state.stack, lineage: state.lineage, address: to });
    return [{ type: "move", from, to }];
  });
  process.stdout.write(`Moved ${from} to ${to}.\n`);
  return 0;
}

/** The kind an address names by its prefix: "volume.data" is a Volume. */
export function prefixKind(address: string): string | undefined {
  const prefix = address.split(".")[0];
  return kindList.find((k) => k.addressPrefix === prefix)?.name;
}

/** `import ADDRESS ID`, or many at once from a file of "ADDRESS ID" lines (`--from FILE`). */
export async function importCommand(
  address: string | undefined,
  id: string | undefined,
  options: { stack?: string; from?: string; lockTimeout?: string },
): Promise<number> {
  const pairs: [string, string][] = [];
  if (address && id) pairs.push([address, id]);
  if (options.from) {
    for (const [n, line] of readFileSync(options.from, "utf8").split("\n").entries()) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith("#")) continue;
      const [a, i, extra] = trimmed.split(/\s+/);
      if (!a || !i || extra) throw new CliError(`${options.from}:${n + 1}: expected "ADDRESS ID"`);
      pairs.push([a, i]);
    }
  }
  if (pairs.length === 0) throw new CliError("import needs ADDRESS and ID, or --from FILE with one \"ADDRESS ID\" per line");
  const workspace = new Workspace();
  const stack = options.stack ?? workspace.stacks()[0];
  if (!stack) throw new CliError("import needs --stack NAME when no stack has state here yet");
  await editState(stack, "import", options.lockTimeout, async (state, ws) => {
    const provider = ws.provider();
    const problems: string[] = [];
    const records: StateRecord[] = [];
    await Promise.all(
      pairs.map(async ([addr, objectId]) => {
        const kind = prefixKind(addr);
        if (!kind) return void problems.push(`${addr}: the address does not start with a kind (cluster., image., pool., volume., instances., attachment.)`);
        if (state.resources[addr]) return void problems.push(`${addr} is already in state`);
        const observed = await provider.read(kind, objectId);
        if (!observed) return void problems.push(`${addr}: no ${kind} ${objectId} in the backend`);
        records.push({ type: "set", address: addr, resource: { kind, id: objectId, inputs: observed.inputs, outputs: observed.outputs, dependsOn: [] } });
      }),
    );
    if (problems.length > 0) throw new CliError(`nothing was imported:\n  ${problems.join("\n  ")}`);
    // The stack's objects now: tagged so, they are found again if state is lost.
    for (const r of records) if (r.type === "set") await provider.setOwner(r.resource.kind, r.resource.id, { stack: state.stack, lineage: state.lineage, address: r.address });
    return records;
  });
  for (const [a, i] of pairs) process.stdout.write(`Imported ${i} as ${a}.\n`);
  process.stdout.write("Run virtform plan to see how the program compares with what was imported.\n");
  return 0;
}

export async function forceUnlockCommand(id: string, options: { stack?: string }): Promise<number> {
  const workspace = new Workspace();
  const stack = workspace.pickStack(options.stack);
  try {
    const holder = forceUnlock(workspace.lockPath(stack), id);
    process.stdout.write(`Removed the lock held by ${holder.who} (pid ${holder.pid}) for ${holder.operation} since ${holder.created}.\n`);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return 0;
}
