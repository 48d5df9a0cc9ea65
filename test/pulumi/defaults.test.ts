// A kind's defaults filled into inputs, and taken out again below a value (an import's spelling).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { z } from "zod";
import type { Value } from "../../core/model.ts";
import { fieldSchema, fillDefaults, withoutNestedDefaults } from "../../provider/pulumi/defaults.ts";
import { kinds } from "../../sdk/kinds/index.ts";

const variants = fieldSchema(kinds.Image.inputs as z.ZodType, "variants")!;

describe("defaults", () => {
  it.each([
    ["a variant as the backend fills it", { a: { config: {}, packages: [] } }, { a: {} }],
    ["a value set beside its defaults", { a: { config: { heapMiB: 512 }, packages: [] } }, { a: { config: { heapMiB: 512 } } }],
    ["a value that is not its default", { a: { config: {}, packages: ["curl"] } }, { a: { packages: ["curl"] } }],
    ["no variants", {}, {}],
  ])("leaves out nested defaults: %s", (_, filled, written) => {
    expect(withoutNestedDefaults(variants, filled as Value)).toEqual(written);
    // Filled again, it is what the backend holds.
    expect(fillDefaults(variants, written as Value)).toEqual(filled);
  });

  it("never compares the value itself with its default", () => {
    const schema = z.object({ tags: z.record(z.string(), z.string()).default({}) });
    expect(withoutNestedDefaults(fieldSchema(schema, "tags")!, {})).toEqual({});
    expect(fieldSchema(schema, "missing")).toBeUndefined();
  });

  it("round-trips: fill(without(fill(x))) = fill(x) for any variants", () => {
    const variant = fc.record({ config: fc.dictionary(fc.constantFrom("heapMiB", "threadPool"), fc.nat()), packages: fc.array(fc.constantFrom("curl", "jq")) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("a", "b", "light"), variant), (written) => {
        const filled = fillDefaults(variants, written as Value);
        expect(fillDefaults(variants, withoutNestedDefaults(variants, filled!))).toEqual(filled);
      }),
    );
  });
});
