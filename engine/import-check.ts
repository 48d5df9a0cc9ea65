// What `virtform import` refuses before it reads the backend: an import writes state without a plan,
// so an object adopted under a second address, or taken from another stack, would be deleted by the
// next apply of whichever program no longer declares it. Every request is checked before any is
// imported; each problem names what is wrong and where.
import type { State } from "./state.ts";

export interface ImportRequest {
  address: string;
  id: string;
  /** Where the request came from, e.g. "imports.txt:3" for `--from`; prefixed to its problems. */
  origin?: string;
}

export interface ImportContext {
  /** Each kind by the prefix of its addresses ("volume" -> "Volume"), as the kinds define them. */
  kindsByPrefix: ReadonlyMap<string, string>;
  /** Addresses the program declares, with their kind. */
  declared: ReadonlyMap<string, string>;
  /** The program's file, for "declare it in infra.ts". */
  program: string;
  /** This stack's state. */
  state: State;
  /** The state of every other stack on the same backend. */
  others: readonly State[];
}

/** The problems of a batch of imports: one per request at most, in request order. */
export function importProblems(requests: readonly ImportRequest[], context: ImportContext): string[] {
  const problems: string[] = [];
  const firstByAddress = new Map<string, ImportRequest>();
  const firstById = new Map<string, ImportRequest>();
  for (const request of requests) {
    const problem = problemOf(request, context, firstByAddress, firstById);
    if (problem) problems.push(request.origin ? `${request.origin}: ${problem}` : problem);
    if (!firstByAddress.has(request.address)) firstByAddress.set(request.address, request);
    if (!firstById.has(request.id)) firstById.set(request.id, request);
  }
  return problems;
}

function problemOf(
  { address, id }: ImportRequest,
  context: ImportContext,
  firstByAddress: ReadonlyMap<string, ImportRequest>,
  firstById: ReadonlyMap<string, ImportRequest>,
): string | undefined {
  const kind = context.kindsByPrefix.get(address.split(".")[0]!);
  if (!kind) return `${address}: the address does not start with a kind (${[...context.kindsByPrefix.keys()].map((p) => `${p}.`).join(", ")})`;
  if (!context.declared.has(address)) {
    return `${address}: configuration for import target does not exist: ${context.program} declares no ${address}; declare it first, then import`;
  }
  const inState = context.state.resources[address];
  if (inState) return `${address} is already in state (as ${inState.id})`;
  const sameAddress = firstByAddress.get(address);
  if (sameAddress) return `${address} is imported twice (also as ${sameAddress.id}${at(sameAddress)})`;
  const sameId = firstById.get(id);
  if (sameId) return `${id} is imported twice: as ${sameId.address}${at(sameId)} and as ${address}; an object has one address`;
  const here = managedIn(context.state, kind, id);
  if (here) return `${id} is already managed by this stack as ${here}; importing it as ${address} too would let a plan delete it (rename with virtform state mv instead)`;
  for (const other of context.others) {
    const there = managedIn(other, kind, id);
    if (there) return `${id} is managed by stack "${other.stack}" as ${there}; an object belongs to one stack (remove it there with virtform state rm --stack ${other.stack} first)`;
  }
  return undefined;
}

/** The address under which a state manages an object of this kind and id, if it does. */
function managedIn(state: State, kind: string, id: string): string | undefined {
  for (const [address, resource] of Object.entries(state.resources)) {
    if (resource.kind === kind && resource.id === id) return address;
  }
  const deposed = state.deposed.find((d) => d.kind === kind && d.id === id);
  return deposed ? `${deposed.address} (the old copy of a replacement, to be deleted)` : undefined;
}

const at = (request: ImportRequest) => (request.origin ? ` at ${request.origin}` : "");
