import { describe, expect, it } from "vitest";
import { archRestrictionAllows, formatGroup, parseProvides, parseRelations } from "../../images/package-relations.ts";

describe("parseRelations", () => {
  const table: [string, unknown][] = [
    ["libc6 (>= 2.34)", [[{ name: "libc6", op: ">=", version: "2.34" }]]],
    ["libc6(>=2.34)", [[{ name: "libc6", op: ">=", version: "2.34" }]]],
    ["a, b", [[{ name: "a" }], [{ name: "b" }]]],
    ["a | b (<< 2:1.0~), c", [[{ name: "a" }, { name: "b", op: "<<", version: "2:1.0~" }], [{ name: "c" }]]],
    ["default-mta | mail-transport-agent", [[{ name: "default-mta" }, { name: "mail-transport-agent" }]]],
    ["python3:any (>= 3.11~)", [[{ name: "python3", archQualifier: "any", op: ">=", version: "3.11~" }]]],
    ["perl:native", [[{ name: "perl", archQualifier: "native" }]]],
    ["libfoo:amd64 (= 1.0-1)", [[{ name: "libfoo", archQualifier: "amd64", op: "=", version: "1.0-1" }]]],
    ["foo [amd64 arm64]", [[{ name: "foo", archRestrictions: ["amd64", "arm64"] }]]],
    ["foo (>= 1) [!i386]", [[{ name: "foo", op: ">=", version: "1", archRestrictions: ["!i386"] }]]],
    ["foo <!nocheck>", [[{ name: "foo" }]]],
    // The obsolete `<` and `>` mean `<=` and `>=`.
    ["old (< 1.0), new (> 2.0)", [[{ name: "old", op: "<=", version: "1.0" }], [{ name: "new", op: ">=", version: "2.0" }]]],
    ["  a  ,\n b (= 1)  ", [[{ name: "a" }], [{ name: "b", op: "=", version: "1" }]]],
    ["a,,b", [[{ name: "a" }], [{ name: "b" }]]],
    ["", []],
  ];
  it.each(table)("%j", (text, expected) => {
    expect(parseRelations(text)).toEqual(expected);
  });

  it("returns [] for a missing field", () => {
    expect(parseRelations(undefined)).toEqual([]);
  });

  it("rejects malformed relations with the field named", () => {
    expect(() => parseRelations("foo (>= 1", "Depends")).toThrow(/Depends: unterminated '\('/);
    expect(() => parseRelations("foo (1.0)", "Depends")).toThrow(/missing relation operator/);
    expect(() => parseRelations("foo (>=)", "Depends")).toThrow(/missing version/);
    expect(() => parseRelations("foo bar", "Depends")).toThrow(/bad package name/);
    expect(() => parseRelations("foo (=> 1)", "Depends")).toThrow(/unknown version relation operator/);
  });

  it("formats groups back", () => {
    const [g] = parseRelations("a:any (>= 1) | b [amd64]");
    expect(formatGroup(g!)).toBe("a:any (>= 1) | b [amd64]");
  });
});

describe("parseProvides", () => {
  it("parses versioned and unversioned provides", () => {
    expect(parseProvides("java-runtime-headless (= 17), java17-runtime-headless")).toEqual([
      { name: "java-runtime-headless", version: "17" },
      { name: "java17-runtime-headless" },
    ]);
  });
  it("refuses a non-equal provide", () => {
    expect(() => parseProvides("foo (>= 1)")).toThrow(/only '=' is allowed/);
  });
});

describe("archRestrictionAllows", () => {
  const table: [string[] | undefined, string, boolean][] = [
    [undefined, "amd64", true],
    [["amd64", "arm64"], "amd64", true],
    [["arm64"], "amd64", false],
    [["!i386"], "amd64", true],
    [["!amd64", "!i386"], "amd64", false],
  ];
  it.each(table)("%j admits %s: %s", (r, arch, expected) => {
    expect(archRestrictionAllows(r, arch)).toBe(expected);
  });
});
