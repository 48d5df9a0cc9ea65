// How a create's fields read in the text plan: one line per leaf, nested maps by their dotted path
// (keys may hold dots themselves), a large map of scalars as a count, unknowns as "(known after apply)".
import { describe, expect, it } from "vitest";
import { UNKNOWN, type Value } from "../../core/model.ts";
import type { ResourceChange } from "../../engine/plan.ts";
import { renderPlanText } from "../../engine/render/plan-text.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";

const packages = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`libglib2.${i}-0`, `2.${i}`]));

function createText(after: Record<string, Value>): string {
  const change: ResourceChange = {
    address: "volume.x",
    kind: "Volume",
    action: "create",
    reason: "not-in-state",
    reasonText: "",
    fields: [],
    before: null,
    after,
    dependsOn: [],
    priorDependsOn: [],
    source: { file: "infra.ts", line: 3, column: 5 },
  };
  const text = renderPlanText({ stack: "s", lineage: "l", serial: 0, changes: [change], outputs: {}, outputChanges: [] }, { kinds: kindInfo, color: false });
  return text.split("\n").slice(3, -2).join("\n");
}

describe("a create's fields in the text plan", () => {
  const cases: [string, Record<string, Value>, string][] = [
    ["top-level scalars, an empty map, a list, an unknown", { name: "x", sizeGiB: 2, empty: {}, list: [1, { a: UNKNOWN }], id: UNKNOWN }, [
      '      + name = "x"',
      "      + sizeGiB = 2",
      "      + empty = {}",
      '      + list = [1,{"a":"(known after apply)"}]',
      "      + id = (known after apply)",
    ].join("\n")],
    ["a large map of scalars as a count, beside its sibling", { locked: { heavy: { packages, digest: "sha256:1" } } }, [
      "      + locked.heavy.packages = {12 entries}",
      '      + locked.heavy.digest = "sha256:1"',
    ].join("\n")],
    ["keys with dots, nested maps", { locked: { light: { packages: { "a.b": "1", c: "2" } } }, tags: { "team.name": "db", env: { stage: "prod" } } }, [
      '      + locked.light.packages.a.b = "1"',
      '      + locked.light.packages.c = "2"',
      '      + tags.team.name = "db"',
      '      + tags.env.stage = "prod"',
    ].join("\n")],
  ];
  it.each(cases)("%s", (_name, after, expected) => {
    expect(createText(after)).toBe(expected);
  });
});
