// Drift is redacted by the renderers themselves: text and JSON called directly never show a secret
// field's value (a kind's secret field, or one the program marked secret), before or after.
import { describe, expect, it } from "vitest";
import type { Plan } from "../../engine/plan.ts";
import type { Drift } from "../../engine/refresh.ts";
import { planToJson } from "../../engine/render/plan-json.ts";
import { renderDriftText } from "../../engine/render/plan-text.ts";
import { REDACTED } from "../../core/secret-paths.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";

const drift: Drift[] = [
  {
    address: "instances.web/app[0]",
    kind: "Instance",
    change: "changed",
    fields: [
      { path: "userData", before: "old-cloud-init-secret", after: "new-cloud-init-secret" },
      { path: "vcpu", before: 1, after: 2 },
    ],
  },
  {
    address: "volume.data",
    kind: "Volume",
    secretPaths: ["labels.token"],
    change: "changed",
    fields: [{ path: "labels.token", before: "t-old", after: "t-new" }],
  },
];
const plan: Plan = { stack: "s", lineage: "l", serial: 1, changes: [], outputs: {} };

describe("drift in renderers", () => {
  it("redacts secret fields in text", () => {
    const text = renderDriftText(drift, kindInfo);
    for (const secret of ["old-cloud-init-secret", "new-cloud-init-secret", "t-old", "t-new"]) expect(text).not.toContain(secret);
    expect(text).toContain(`~ userData: "${REDACTED}" -> "${REDACTED}"`);
    expect(text).toContain("~ vcpu: 1 -> 2");
  });

  it("redacts secret fields in JSON", () => {
    const json = planToJson(plan, kindInfo, drift) as { resource_drift: { fields: { path: string; before: unknown; after: unknown }[] }[] };
    expect(json.resource_drift.flatMap((d) => d.fields)).toEqual([
      { path: "userData", before: REDACTED, after: REDACTED },
      { path: "vcpu", before: 1, after: 2 },
      { path: "labels.token", before: REDACTED, after: REDACTED },
    ]);
  });
});
