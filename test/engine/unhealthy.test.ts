// A plan that keeps an object the backend cannot serve is an error; one that replaces or deletes it is not.
import { describe, expect, it } from "vitest";
import type { Plan, ResourceChange } from "../../engine/plan.ts";
import type { Action } from "../../engine/plan-resource.ts";
import { unhealthyProblems, type Drift } from "../../engine/refresh.ts";

const source = { file: "infra.ts", line: 3, column: 3 };
const change = (action: Action, extra: Partial<ResourceChange> = {}) =>
  ({ address: "pool.p", kind: "StoragePool", action, reason: "unchanged", reasonText: "", fields: [], before: null, after: null, dependsOn: [], priorDependsOn: [], source, ...extra }) as ResourceChange;
const plan = (changes: ResourceChange[]): Plan => ({ stack: "s", lineage: "l", serial: 1, changes, outputs: {} });
const unhealthy: Drift = { address: "pool.p", kind: "StoragePool", change: "unhealthy", fields: [], reason: "LUN 0 is missing" };
const error = {
  severity: "error",
  address: "pool.p",
  message: "the backend cannot serve it: LUN 0 is missing; replace it (--replace pool.p) or remove it from the program",
  source,
};

describe("unhealthy objects in a plan", () => {
  it.each([
    ["kept as it is", [unhealthy], plan([change("noop")]), [error]],
    ["updated in place", [unhealthy], plan([change("update")]), [error]],
    ["replaced", [unhealthy], plan([change("replace")]), []],
    ["deleted", [unhealthy], plan([change("delete")]), []],
    ["only its deposed leftover deleted", [unhealthy], plan([change("delete", { deposedId: "pool-1" }), change("noop")]), [error]],
    ["absent from the plan", [unhealthy], plan([]), [{ severity: error.severity, address: error.address, message: error.message }]],
    ["changed, not unhealthy", [{ ...unhealthy, change: "changed" as const }], plan([change("noop")]), []],
  ])("%s", (_what, drift, p, expected) => {
    expect(unhealthyProblems(drift as Drift[], p)).toEqual(expected);
  });
});
