// Reading records by keys someone else chose: Object.prototype's members are never a hit.
import { describe, expect, it } from "vitest";
import { nullPrototype, own } from "../../core/own.ts";

const record: Record<string, number> = { a: 1, "volume.data": 2 };

describe("own", () => {
  it.each([
    ["a", 1],
    ["volume.data", 2],
    ["b", undefined],
    ["constructor", undefined],
    ["toString", undefined],
    ["hasOwnProperty", undefined],
    ["__proto__", undefined],
  ])("own(record, %j) is %j", (key, expected) => {
    expect(own(record, key)).toBe(expected);
  });

  it("reads nothing from a missing record", () => {
    expect(own(undefined, "a")).toBeUndefined();
    expect(own(null, "constructor")).toBeUndefined();
  });
});

describe("nullPrototype", () => {
  it("keeps every key as data, __proto__ included, and inherits nothing", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": 1}, "b": 2}') as Record<string, unknown>;
    const copy = nullPrototype(parsed);
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(Object.keys(copy)).toEqual(["__proto__", "b"]);
    expect(copy["__proto__"]).toEqual({ polluted: 1 });
    expect(copy["constructor"]).toBeUndefined();
    copy["__proto__"] = 3; // an assignment stays data too
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(copy["__proto__"]).toBe(3);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
