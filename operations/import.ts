// `import`: bring objects the backend already holds into state under addresses the program
// declares. The whole batch is checked first (import-check.ts), then each id is read from the
// backend; only a sound batch is recorded, and its objects are tagged as the stack's.
import { importProblems, type ImportRequest } from "../engine/import-check.ts";
import type { State, StateRecord } from "../engine/state.ts";
import { providerOf, withLock, type DesiredProgram, type OperationContext } from "./context.ts";
import { OperationError } from "./operation-error.ts";

export interface ImportOptions {
  /** The program's file, named in problems ("declare it in infra.ts"). */
  programPath: string;
  /** Kind names by address prefix ("volume" -> "Volume"). */
  kindsByPrefix: ReadonlyMap<string, string>;
  /** Every other stack's state on the same backend, read under this stack's lock: an object one of them manages is refused. */
  others(): readonly State[];
  /** Problems found before the batch was formed (an unreadable line of `--from`). */
  unreadable?: string[];
  lockTimeoutMs?: number;
}

/** Imports the batch, or imports nothing and throws OperationError "import-refused" listing every problem. */
export async function importObjects(
  context: OperationContext,
  program: Pick<DesiredProgram, "stack" | "resources">,
  requests: readonly ImportRequest[],
  options: ImportOptions,
): Promise<StateRecord[]> {
  const { store } = context;
  return withLock(context, "import", options.lockTimeoutMs ?? 0, async () => {
    const state = await store.load();
    const problems = [
      ...(options.unreadable ?? []),
      ...importProblems(requests, {
        kindsByPrefix: options.kindsByPrefix,
        declared: new Map(program.resources.map((r) => [r.address, r.kind])),
        program: options.programPath,
        state,
        others: options.others(),
      }),
    ];
    const records: StateRecord[] = [];
    // What the program declares at each address supplies what the backend does not keep, as a
    // Terraform import takes it from configuration: the dependencies, so that a later destroy
    // deletes an imported attachment before its volume.
    const declared = new Map(program.resources.map((r) => [r.address, r]));
    const provider = problems.length === 0 ? await providerOf(context) : undefined;
    // The backend is asked only once the batch is sound: every id must name an object there.
    if (provider) {
      await Promise.all(
        requests.map(async ({ address, id, origin }) => {
          const kind = options.kindsByPrefix.get(address.split(".")[0]!)!;
          const observed = await provider.read(kind, id);
          if (!observed) return void problems.push(`${origin ? `${origin}: ` : ""}${address}: no ${kind} ${id} in the backend`);
          const dependsOn = [...(declared.get(address)?.dependsOn ?? [])];
          records.push({ type: "set", address, resource: { kind, id, inputs: observed.inputs, outputs: observed.outputs, dependsOn } });
        }),
      );
    }
    if (problems.length > 0) throw new OperationError("import-refused", `nothing was imported:\n  ${problems.join("\n  ")}`);
    // The stack's objects now: tagged so, they are found again if state is lost.
    for (const r of records) {
      if (r.type === "set") await provider!.setOwner?.(r.resource.kind, r.resource.id, { stack: state.stack, lineage: state.lineage, address: r.address });
    }
    for (const record of records) await store.record(state, record);
    await store.commit(state);
    return records;
  });
}
