// Protection and targeting in makePlan: a protected resource refuses only its own deletion or
// replacement, and only when the plan (after --target) would really carry it out.
import { describe, expect, it } from "vitest";
import { DiagnosticsError, type ChangeBehaviour, type DesiredResource, type KindInfo, type ResourceState } from "../../core/model.ts";
import { makePlan, type PlanOptions } from "../../engine/plan.ts";
import { emptyState, type State } from "../../engine/state.ts";

const thingKind: KindInfo = {
  name: "Thing",
  secrets: [],
  replaceOrder: "create-before-delete",
  changeBehaviour: (path: string): ChangeBehaviour => (path === "zone" ? "replace" : "in-place"),
};
const kinds = new Map([["Thing", thingKind]]);

function stored(id: string, dependsOn: string[] = [], protect = false): ResourceState {
  return { kind: "Thing", id, inputs: { zone: "a" }, outputs: {}, dependsOn, ...(protect ? { options: { protect } } : {}) };
}
function desired(address: string, zone = "a", protect = false): DesiredResource {
  return { address, kind: "Thing", inputs: { zone }, dependsOn: [], options: protect ? { protect } : {} };
}

/** pool <- vol <- attach; pool <- data (protected); logs (protected) and other stand alone. */
function world(): State {
  const state = emptyState("t");
  state.resources = {
    pool: stored("p-1"),
    vol: stored("v-1", ["pool"]),
    attach: stored("a-1", ["vol"]),
    data: stored("d-1", ["pool"], true),
    logs: stored("l-1", [], true),
    other: stored("o-1"),
  };
  return state;
}

interface Row {
  name: string;
  program: DesiredResource[];
  options: Omit<PlanOptions, "kinds">;
  /** Addresses the plan changes, with their action. */
  changes?: Record<string, string>;
  errors?: string[];
}

const all = ["pool", "vol", "attach", "data", "logs", "other"].map((a) => desired(a, "a", a === "data" || a === "logs"));

const rows: Row[] = [
  {
    name: "destroy --target of an unrelated resource is not refused by a protected one",
    program: [],
    options: { destroy: true, targets: ["other"] },
    changes: { other: "delete" },
  },
  {
    name: "destroy --target takes what depends on the target along",
    program: [],
    options: { destroy: true, targets: ["vol"] },
    changes: { vol: "delete", attach: "delete" },
  },
  {
    name: "destroy --target of a protected resource names it",
    program: [],
    options: { destroy: true, targets: ["logs"] },
    errors: ["logs: destroy would delete protected logs; set protect: false and apply before destroying it"],
  },
  {
    name: "destroy --target whose dependent is protected is refused for that dependent only",
    program: [],
    options: { destroy: true, targets: ["pool"] },
    errors: ["data: destroy would delete protected data; set protect: false and apply before destroying it"],
  },
  {
    name: "a whole destroy names every protected resource",
    program: [],
    options: { destroy: true },
    errors: [
      "data: destroy would delete protected data; set protect: false and apply before destroying it",
      "logs: destroy would delete protected logs; set protect: false and apply before destroying it",
    ],
  },
  {
    name: "a protected resource left out of the program is refused as before",
    program: all.filter((r) => r.address !== "logs"),
    options: {},
    errors: ["logs: resource is protected and cannot be deleted (no longer in the program); set protect: false and apply before removing it"],
  },
  {
    name: "a plan targeting something else is not refused by a protected resource left out",
    program: all.filter((r) => r.address !== "logs"),
    options: { targets: ["other"] },
    changes: {},
  },
  {
    name: "a replacement of an untargeted protected resource does not block a targeted plan",
    program: all.map((r) => (r.address === "logs" ? desired("logs", "b", true) : r)),
    options: { targets: ["other"] },
    changes: {},
  },
  {
    name: "a replacement of a protected resource is refused",
    program: all.map((r) => (r.address === "logs" ? desired("logs", "b", true) : r)),
    options: {},
    errors: ["logs: resource is protected and cannot be replaced (zone forces replacement); remove protect to allow it"],
  },
];

describe("makePlan protection and targeting", () => {
  for (const row of rows) {
    it(row.name, () => {
      let plan;
      try {
        plan = makePlan(world(), row.program, {}, { kinds, ...row.options });
      } catch (err) {
        if (!(err instanceof DiagnosticsError) || !row.errors) throw err;
        expect(err.diagnostics.map((d) => `${d.address}: ${d.message}`)).toEqual(row.errors);
        return;
      }
      expect(row.errors).toBeUndefined();
      const changed = Object.fromEntries(plan.changes.filter((c) => c.action !== "noop").map((c) => [c.address, c.action]));
      expect(changed).toEqual(row.changes);
    });
  }
});

describe("a --target plan", () => {
  it("gives what it leaves out its own reason, not unchanged", () => {
    const program = all.map((r) => (r.address === "logs" ? desired("logs", "b", true) : r));
    const plan = makePlan(world(), program, {}, { kinds, targets: ["other"] });
    const reasons = Object.fromEntries(plan.changes.map((c) => [c.address, [c.reason, c.reasonText]]));
    expect(reasons.other).toEqual(["unchanged", "no changes"]);
    expect(reasons.logs).toEqual(["not-targeted", "not targeted"]); // it would be replaced: left out, not unchanged
    expect(reasons.pool).toEqual(["not-targeted", "not targeted"]);
  });
});
