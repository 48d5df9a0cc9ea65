// Property: whatever values a program passes to the DSL (the example program with any of its
// values replaced: Symbols, BigInts, NUL in names, handles in the wrong place, ...), virtform
// answers with diagnostics that name a line, never a JavaScript stack trace; and a plan or apply
// that fails leaves state as it was. Most runs evaluate in-process (the SDK's own logic, fast); a
// few go through the real CLI against an applied stack.
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../core/model.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { buildExample, exampleValues, toSource, type Values } from "../helpers/mutable-program.ts";

const FRAME = /^\s+at /m;

/** Every path of the example's value tree: each is a place a mutation may land. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  const here = prefix.length > 0 ? [prefix] : [];
  if (value === null || typeof value !== "object") return here;
  return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

const hostile = fc.oneof(
  fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withDate: true, withMap: true, withSet: true }),
  fc.constantFrom<unknown>(
    Symbol("x"),
    "a\u0000b",
    "../../../virtform-fuzz-escape/pwn",
    "__proto__",
    "constructor",
    "Name With Spaces",
    "\u202eevil",
    "\ud800",
    "",
    -1,
    0,
    -0,
    1e308,
    NaN,
    Infinity,
    null,
    undefined,
    1n,
    () => 1,
    "@pool",
    "@image",
    "@cluster",
    "@group",
    "@volume",
    "@snapshot",
    "@volume.id",
  ),
);
const mutations = fc.array(fc.tuple(fc.constantFrom(...pathsOf(exampleValues())), hostile), { minLength: 1, maxLength: 3 });

function mutated(changes: [string[], unknown][]): Values {
  const values = exampleValues();
  for (const [path, value] of changes) {
    let parent: unknown = values;
    for (const key of path.slice(0, -1)) parent = parent !== null && typeof parent === "object" ? (parent as Record<string, unknown>)[key] : undefined;
    if (parent !== null && typeof parent === "object") (parent as Record<string, unknown>)[path.at(-1)!] = value;
  }
  return values;
}

describe("any value a program passes to the DSL", () => {
  it("evaluates to diagnostics with a line, never a throw or a stack trace (in-process)", () => {
    expect(evaluateStack(buildExample(exampleValues())).diagnostics).toEqual([]);
    fc.assert(
      fc.property(mutations, (changes) => {
        const evaluated = evaluateStack(buildExample(mutated(changes)));
        for (const d of evaluated.diagnostics) {
          expect(d.message).not.toMatch(FRAME);
          if (d.severity === "error") expect(d.source, formatDiagnostic(d)).toBeDefined();
        }
        // The worker hands the result to the CLI as JSON: it must survive the trip.
        expect(() => JSON.parse(JSON.stringify(evaluated))).not.toThrow();
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  describe("through the CLI", () => {
    const dir = makeWorkdir();
    const stateDir = join(dir, ".virtform/state");
    const snapshot = () =>
      Object.fromEntries(
        readdirSync(stateDir, { withFileTypes: true })
          .filter((f) => f.isFile() && !f.name.endsWith(".lock")) // history/ holds copies of these
          .map((f) => [f.name, readFileSync(join(stateDir, f.name), "utf8")]),
      );
    const program = (values: Values) =>
      `import { buildExample } from ${JSON.stringify(join(repoRoot, "test/helpers/mutable-program.ts"))};\n` +
      `export default buildExample(${toSource(values)});\n`;

    beforeAll(async () => {
      writeProgram(dir, program(exampleValues()));
      const applied = await runCli(dir, ["apply", "--yes"], { VIRTFORM_PASSPHRASE: "fuzz" });
      expect(applied.code, applied.stderr).toBe(0);
    });

    it("prints no stack trace, and a failed apply leaves state as it was", async () => {
      await fc.assert(
        fc.asyncProperty(mutations, async (changes) => {
          writeProgram(dir, program(mutated(changes)));
          const before = snapshot();
          const result = await runCli(dir, ["apply", "--yes"], { VIRTFORM_PASSPHRASE: "fuzz" });
          expect(result.stdout + result.stderr).not.toMatch(FRAME);
          expect(result.stderr).not.toContain("this is a bug");
          if (result.code !== 0) expect(snapshot()).toEqual(before);
        }),
        { numRuns: 5, seed: 5 },
      );
      expect(existsSync(join(dir, "..", "virtform-fuzz-escape"))).toBe(false);
    });
  });
});
