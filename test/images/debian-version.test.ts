import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compareVersions, parseConstraint, parseVersion, satisfies } from "../../images/debian-version.ts";

// [a, b, expected sign of compare(a, b)]; cases follow dpkg's own test suite and Debian policy 5.6.12.
const table: [string, string, -1 | 0 | 1][] = [
  ["1.0", "1.0", 0],
  ["1.0", "1.0-0", 0],
  ["0:1.0", "1.0", 0],
  ["1.0~rc1", "1.0", -1],
  ["1.0~rc1", "1.0~rc2", -1],
  ["1.0~~", "1.0~", -1],
  ["1.0~", "1.0", -1],
  ["1.0~~a", "1.0~~", 1],
  ["1:0.1", "2.0", 1],
  ["2:0.1", "1:9.9", 1],
  ["1.0-1", "1.0-2", -1],
  ["1.0-1", "1.0", 1],
  ["1.0-1+deb12u1", "1.0-1", 1],
  ["1.0-1+b1", "1.0-1+deb12u1", -1],
  ["1.0-1~deb12u1", "1.0-1", -1],
  ["1.2.3", "1.2.10", -1],
  ["1.10", "1.9", 1],
  ["1.01", "1.1", 0],
  ["1.001", "1.1", 0],
  ["1.0a", "1.0", 1],
  ["1.0a", "1.0+", -1],
  ["1.0a", "1.0b", -1],
  ["1.0A", "1.0a", -1],
  ["1.0.", "1.0+", 1],
  ["1.0+", "1.0.", -1],
  ["a", "b", -1],
  ["1", "a", -1],
  ["2.36-9+deb12u10", "2.36-9+deb12u9", 1],
  ["17.0.15+6-1~deb12u1", "17.0.14+7-1~deb12u1", 1],
  ["17.0.14+7-1~deb12u1", "17.0.14~rc1-1", 1],
  ["1:2.0-1", "1:3", -1],
  ["1:2.0-1", "3", 1],
  ["2.0-1-1", "2.0-1", 1],
  ["2.0-1-1", "2.0-1.1", 1],
  ["1.5.0-1+b6", "1.5.0-1+b10", -1],
  ["7.88.1-10+deb12u12", "7.88.1-10+deb12u5", 1],
  ["10", "9", 1],
  ["0", "00", 0],
  ["1.0-0ubuntu1", "1.0-1", -1],
  ["3.11.2-1+b1", "3.11.2-1", 1],
];

describe("compareVersions", () => {
  it.each(table)("%s vs %s", (a, b, expected) => {
    expect(Math.sign(compareVersions(a, b))).toBe(expected);
    // The order is antisymmetric.
    expect(Math.sign(compareVersions(b, a)) + expected).toBe(0);
  });

  it("sorts a mixed list the way dpkg does", () => {
    const list = ["1.0", "1.0~rc1", "1:0.1", "1.0-1", "0.9", "1.0+b1", "1.0~~", "1.0a"];
    expect([...list].sort(compareVersions)).toEqual(["0.9", "1.0~~", "1.0~rc1", "1.0", "1.0-1", "1.0a", "1.0+b1", "1:0.1"]);
  });
});

describe("parseVersion", () => {
  it("splits epoch, upstream and revision at the last hyphen", () => {
    expect(parseVersion("2:1.2-3-4")).toEqual({ epoch: 2, upstream: "1.2-3", revision: "4" });
    expect(parseVersion("1.0")).toEqual({ epoch: 0, upstream: "1.0", revision: "" });
    expect(parseVersion("1:0.9-3")).toEqual({ epoch: 1, upstream: "0.9", revision: "3" });
  });
});

describe("satisfies", () => {
  const rel: [string, "<<" | "<=" | "=" | ">=" | ">>" | "<" | ">", string, boolean][] = [
    ["1.0", "<<", "1.1", true],
    ["1.1", "<<", "1.1", false],
    ["1.1", "<=", "1.1", true],
    ["1.2", "<=", "1.1", false],
    ["1.1", "=", "1.1-0", true],
    ["1.1", "=", "1.1-1", false],
    ["1.1", ">=", "1.1", true],
    ["1.0~rc1", ">=", "1.0", false],
    ["1.0~rc1", ">=", "1.0~", true],
    ["1.2", ">>", "1.1", true],
    ["1.1", ">>", "1.1", false],
    // Obsolete forms: `<` means `<=`, `>` means `>=`.
    ["1.1", "<", "1.1", true],
    ["1.1", ">", "1.1", true],
    ["1.0", ">", "1.1", false],
    ["1:0.1", ">=", "99", true],
  ];
  it.each(rel)("%s %s %s", (v, op, target, expected) => {
    expect(satisfies(v, op, target)).toBe(expected);
  });

  it("parses request constraints", () => {
    expect(parseConstraint(">= 17.0.14")).toEqual({ op: ">=", version: "17.0.14" });
    expect(parseConstraint("<<2")).toEqual({ op: "<<", version: "2" });
    expect(parseConstraint("1.5.0-1+b6")).toEqual({ op: "=", version: "1.5.0-1+b6" });
    expect(parseConstraint("> 1")).toEqual({ op: ">=", version: "1" });
    expect(() => parseConstraint(">=")).toThrow(/no version/);
    expect(() => parseConstraint("=> 1")).toThrow(/unknown version relation operator/);
  });
});

const hasDpkg = spawnSync("dpkg", ["--version"]).status === 0;

// dpkg itself is the reference: every table pair plus generated ones must agree with it.
describe.skipIf(!hasDpkg)("compareVersions agrees with dpkg --compare-versions", () => {
  const parts = ["0", "1", "01", "10", "1.0", "1.0~", "1.0~rc1", "1.0+b1", "1.0a", "1.0.1", "1:1.0", "1.0-1", "1.0-1~bpo1", "1.0-1+deb12u1", "2~"];
  const pairs: [string, string][] = table.map(([a, b]) => [a, b]);
  for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j += 3) pairs.push([parts[i]!, parts[j]!]);
  it(`agrees on ${pairs.length} pairs`, () => {
    const script = pairs.map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`).join("\n");
    const out = spawnSync("sh", ["-c", script], { encoding: "utf8" }).stdout.trim().split("\n").map(Number);
    expect(out).toHaveLength(pairs.length);
    const ours = pairs.map(([a, b]) => Math.sign(compareVersions(a, b)) || 0);
    expect(ours).toEqual(out);
  });
});
