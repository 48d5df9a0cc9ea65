// Source mapping: each resource of a program maps to the call that declares it (through helper
// functions, loops and re-exports), each field to the property that sets it. The positions are
// those Node records while the program runs (the column of the called method's name); vitest
// rewrites modules, so they are given here, and the CLI test covers recording them.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { SourceLocation } from "../../core/model.ts";
import { SourceMapper } from "../../review/source-map.ts";

const program = "test/fixtures/review/mapping/infra.ts";
const lib = "test/fixtures/review/mapping/lib";
const mapper = new SourceMapper();
mapper.addProgram(program);

/** Where Node reports a call: the line and column of `snippet`'s marked name ("fast.|volume"). */
function position(file: string, snippet: string): SourceLocation {
  const text = readFileSync(file, "utf8");
  const offset = text.indexOf(snippet.replace("|", "")) + snippet.indexOf("|");
  const before = text.slice(0, offset).split("\n");
  return { file, line: before.length, column: before.at(-1)!.length + 1 };
}

const recorded: Record<string, SourceLocation> = {
  "pool.fast": position(program, 's.|storagePool("fast"'),
  "volume.scratch": position(program, 'fast.|volume("scratch"'),
  "volume.data-a": { ...position(`${lib}/helpers.ts`, "pool.|volume(name"), callers: [position(program, "|dataVolume(fast")] },
  "volume.v-x": { ...position(program, "fast.|volume(`v-"), callers: [position(program, '["x"].|forEach')] },
  "volume.small": position(program, 'fast.|volume("small"'),
};
recorded["volume.data-b"] = recorded["volume.data-a"]!;

const sourceOf = (address: string) => recorded[address]!;
const at = (r: { file: string; line: number } | undefined) => (r ? `${r.file}:${r.line}` : undefined);

describe("resources", () => {
  it.each([
    ["pool.fast", `${program}:7`, [], []],
    ["volume.scratch", `${program}:12`, [], []],
    // through a helper in another file, called in a for loop: the helper's call, its caller, the loop
    ["volume.data-a", `${lib}/helpers.ts:4`, [`${program}:14`], [`${program}:13`]],
    ["volume.data-b", `${lib}/helpers.ts:4`, [`${program}:14`], [`${program}:13`]],
    // a .forEach callback is a loop too
    ["volume.v-x", `${program}:16`, [`${program}:16`], [`${program}:16`]],
  ])("%s is declared at %s", (address, call, callers, loops) => {
    const source = mapper.resource(sourceOf(address));
    expect(at(source?.call)).toBe(call);
    expect(source?.callers.map(at)).toEqual(callers);
    expect(source?.loops.map(at)).toEqual(loops);
  });

  it("gives the whole call's range", () => {
    const range = mapper.resource(sourceOf("pool.fast"))!.call;
    expect([range.line, range.column, range.endLine]).toEqual([7, 16, 10]);
  });
});

describe("fields", () => {
  it.each([
    // a constant imported through a re-export
    ["pool.fast", "media", `${program}:8`, "constant"],
    ["pool.fast", "devices", `${program}:9`, "literal"],
    // a spread of a constant from another file, followed through the re-export
    ["volume.scratch", "sizeGiB", `${lib}/defaults.ts:1`, "spread"],
    // the later property wins over the spread
    ["volume.scratch", "multiAttach", `${program}:12`, "literal"],
    // set by the handle the method was called on
    ["volume.scratch", "pool", `${program}:12`, "handle"],
    // a helper's parameter, spread: the argument at the helper's call site
    ["volume.data-a", "sizeGiB", `${program}:14`, "spread"],
    ["volume.data-a", "multiAttach", `${lib}/helpers.ts:4`, "literal"],
    // an expression computed at run time
    ["volume.v-x", "sizeGiB", `${program}:16`, "computed"],
    ["volume.small", "sizeGiB", `${program}:17`, "constant"],
    // a default the program never sets: the declaration
    ["volume.small", "deleteProtection", `${program}:17`, "declaration"],
  ])("%s %s is set at %s (%s)", (address, path, where, origin) => {
    const field = mapper.field(sourceOf(address), path);
    expect(at(field?.range)).toBe(where);
    expect(field?.origin).toBe(origin);
  });

  it("points at the property itself", () => {
    const range = mapper.field(sourceOf("volume.small"), "sizeGiB")!.range;
    expect(range.column).toBe(26);
  });
});

describe("ignore comments", () => {
  it("reads rule and reason from the comment above the declaring statement", () => {
    expect(mapper.ignores(sourceOf("volume.scratch")).map((i) => [i.rule, i.reason, i.at.line])).toEqual([["protection", "scratch data, rebuilt nightly", 11]]);
    expect(mapper.ignores(sourceOf("volume.small"))).toEqual([]);
  });
});

describe("Pulumi programs", () => {
  it("finds new Kind(name, ...) by class and name, and its fields", () => {
    const location = mapper.locateByName("Volume", "pulumi-data")!;
    expect(at(location)).toBe("test/fixtures/review/mapping/pulumi.ts:5");
    expect(at(mapper.resource(location)?.call)).toBe("test/fixtures/review/mapping/pulumi.ts:5");
    expect(mapper.field(location, "sizeGiB")).toMatchObject({ range: { line: 7 }, origin: "literal" });
    // pool.id is computed; a Pulumi constructor has no handle
    expect(mapper.field(location, "pool")).toMatchObject({ range: { line: 6 }, origin: "computed" });
    expect(mapper.locateByName("Volume", "no-such")).toBeUndefined();
  });
});
