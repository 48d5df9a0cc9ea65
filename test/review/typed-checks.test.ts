// Typed checks: each marked line of the fixture is reported with the marked codes, and no other
// line (constant loops, literal variants and plain values stay silent).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { programProject } from "../../review/typecheck.ts";
import { typedChecks } from "../../review/typed-checks.ts";

const fixture = "test/fixtures/review/typed/infra.ts";

describe("typed checks", () => {
  it("reports exactly the marked lines, with their codes", () => {
    const found = typedChecks(programProject(fixture));
    const byLine = new Map<number, string[]>();
    for (const d of found) {
      expect(d.file).toBe(fixture);
      byLine.set(d.line!, [...(byLine.get(d.line!) ?? []), d.code.replace("typed/", "")].sort());
    }
    const marked = new Map(
      readFileSync(fixture, "utf8")
        .split("\n")
        .flatMap((text, i) => {
          const codes = /\/\/ TYPED (.*)$/.exec(text)?.[1];
          return codes ? [[i + 1, codes.split(" ").sort()] as const] : [];
        }),
    );
    expect(Object.fromEntries(byLine)).toEqual(Object.fromEntries(marked));
  }, 20_000);
});
