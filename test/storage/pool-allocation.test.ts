import { describe, expect, it } from "vitest";
import { PoolAllocation } from "../../emulator/storage/pools.ts";

// The kept sum must be the figure a scan of the sizes gives, to the last bit: capacity messages print it.
const scan = (sizes: [string, number][], except?: string) => sizes.reduce((sum, [id, size]) => (id === except ? sum : sum + size), 0);

describe("PoolAllocation", () => {
  const cases: { name: string; ops: (["set", string, number] | ["delete", string])[]; expected: [string, number][] }[] = [
    { name: "empty", ops: [], expected: [] },
    { name: "appends of fractions", ops: [["set", "a", 0.1], ["set", "b", 0.2], ["set", "c", 0.3]], expected: [["a", 0.1], ["b", 0.2], ["c", 0.3]] },
    { name: "a grown volume keeps its place", ops: [["set", "a", 0.1], ["set", "b", 0.2], ["set", "a", 0.7], ["set", "c", 0.3]], expected: [["a", 0.7], ["b", 0.2], ["c", 0.3]] },
    { name: "a deleted volume", ops: [["set", "a", 0.1], ["set", "b", 0.2], ["delete", "a"], ["set", "c", 0.3]], expected: [["b", 0.2], ["c", 0.3]] },
    { name: "delete of an unknown volume", ops: [["set", "a", 1], ["delete", "x"], ["set", "b", 2]], expected: [["a", 1], ["b", 2]] },
  ];
  for (const { name, ops, expected } of cases) {
    it(name, () => {
      const pool = new PoolAllocation();
      for (const op of ops) {
        if (op[0] === "set") pool.set(op[1], op[2]);
        else pool.delete(op[1]);
        pool.allocated(); // asked between changes, as creates do
      }
      expect(pool.allocated()).toBe(scan(expected));
      for (const [id] of expected) expect(pool.allocated(id)).toBe(scan(expected, id));
      expect(pool.allocated("absent")).toBe(scan(expected));
    });
  }
});
