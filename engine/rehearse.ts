// Feasibility before apply: the plan is applied to a throw-away copy of the backend, with the same
// walker apply uses, so whatever would fail there (capacity, placement, a conflict) is reported by
// the plan, with the resource's address and source line, instead of half-way through an apply.
import { applyPlan } from "./apply.ts";
import { copyJson } from "../core/copy-json.ts";
import type { Diagnostic } from "../core/model.ts";
import type { Plan } from "./plan.ts";
import type { Provider } from "./provider.ts";
import { applyRecord, type State } from "./state.ts";
import type { StateWriter } from "./state-store.ts";

const done = Promise.resolve();

/** The rehearsal's state is thrown away: records change the copy and are kept nowhere (one settled promise for all: two records per step). */
const discard: StateWriter = {
  record: (state, record) => (applyRecord(state, record), done),
  commit: () => done,
};

/**
 * `inspect` sees the rehearsed backend, and the state the rehearsal left, before they are thrown
 * away (e.g. to read capacity after the plan). It runs even when a step failed: what the rehearsal
 * reached explains the failure.
 */
export async function rehearsePlan(
  plan: Plan,
  state: State,
  provider: Provider,
  inspect?: (rehearsed: Provider, rehearsedState: State) => Promise<void>,
): Promise<Diagnostic[]> {
  if (!provider.rehearsal) return [];
  // Nothing to carry out, nothing that could fail: the copy (O(the backend's size)) would stay as
  // the backend is, so the backend itself is what `inspect` sees.
  if (plan.changes.every((c) => c.action === "noop")) {
    await inspect?.(provider, state);
    return [];
  }
  const sandbox = await provider.rehearsal();
  const copy = copyJson(state);
  try {
    let tokens = 0;
    const newToken = () => `rehearsal-${++tokens}`;
    const result = await applyPlan(plan, copy, sandbox, discard, { parallelism: 1, newToken });
    await inspect?.(sandbox, copy);
    return result.results
      .filter((r) => r.status === "failed")
      .map((r) => ({
        severity: "error" as const,
        address: r.step.change.address,
        message: `${r.step.operation} would fail: ${r.error}`,
        ...(r.step.change.source ? { source: r.step.change.source } : {}),
      }));
  } finally {
    await sandbox.dispose();
  }
}
