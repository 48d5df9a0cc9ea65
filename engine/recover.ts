// Before planning, settle what a killed run left in flight. A pending create is looked up by its
// idempotency token: what it made is adopted into state (no orphan), and if it made nothing the
// record is dropped (no duplicate). Pending updates and deletes are settled as they are: the plan
// compares again and does whatever is still needed.
import type { Provider } from "./provider.ts";
import type { State } from "./state.ts";
import type { StateWriter } from "./state-store.ts";

export interface Recovered {
  address: string;
  outcome: "adopted" | "dropped" | "settled" | "kept";
  operation: string;
}

export async function recoverPending(state: State, provider: Provider, store: StateWriter): Promise<Recovered[]> {
  const recovered: Recovered[] = [];
  for (const [address, pending] of Object.entries(state.pending)) {
    if (pending.operation === "create" && pending.token) {
      if (!provider.recover) {
        recovered.push({ address, outcome: "kept", operation: pending.operation });
        continue; // apply retries the create with the same token
      }
      const found = await provider.recover(pending.kind, pending.token);
      if (found) {
        await store.record(state, {
          type: "set",
          address,
          resource: {
            kind: pending.kind,
            id: found.id,
            inputs: pending.inputs ?? {},
            outputs: found.outputs,
            dependsOn: pending.dependsOn ?? [],
            ...(pending.secretPaths ? { secretPaths: pending.secretPaths } : {}),
          },
        });
        recovered.push({ address, outcome: "adopted", operation: pending.operation });
      } else {
        await store.record(state, { type: "settled", address });
        recovered.push({ address, outcome: "dropped", operation: pending.operation });
      }
      continue;
    }
    await store.record(state, { type: "settled", address });
    recovered.push({ address, outcome: "settled", operation: pending.operation });
  }
  return recovered;
}
