// State read from disk is checked before the engine uses it: a resource whose kind virtform does not
// know (a hand edit, a corrupted file) is an error naming the address and the file, not a crash
// deep in refresh.
import { relative } from "node:path";
import type { State } from "../engine/state.ts";
import { kindInfo } from "../sdk/kinds/index.ts";
import { OperationError } from "./operation-error.ts";

export function checkStateKinds(state: State, path = "(state)"): State {
  const file = relative(process.cwd(), path) || path;
  const entries: [string, unknown][] = [
    ...Object.entries(state.resources ?? {}),
    ...(Array.isArray(state.deposed) ? state.deposed : []).map((d): [string, unknown] => [`${String(d?.address)} (deposed)`, d]),
    ...Object.entries(state.pending ?? {}).map(([address, p]): [string, unknown] => [`${address} (pending)`, p]),
  ];
  for (const [address, entry] of entries) {
    const kind = typeof entry === "object" && entry !== null ? (entry as { kind?: unknown }).kind : undefined;
    if (typeof kind === "string" && kindInfo.has(kind)) continue;
    throw new OperationError(
      "unknown-kind-in-state",
      `state file ${file}: ${address} has kind ${JSON.stringify(kind) ?? "(none)"}, which virtform does not know (kinds: ${[...kindInfo.keys()].join(", ")}). ` +
        `The file was edited or is corrupted: correct the kind, or restore the previous state from ${file}.backup`,
    );
  }
  return state;
}
