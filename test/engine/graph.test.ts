import { describe, expect, it } from "vitest";
import { CycleError, topologicalOrder, type GraphNode } from "../../engine/graph.ts";

const node = (address: string, ...dependsOn: string[]): GraphNode => ({ address, dependsOn });

describe("topologicalOrder", () => {
  const cases: { name: string; nodes: GraphNode[]; order?: string[]; cycle?: string[] }[] = [
    { name: "empty", nodes: [], order: [] },
    { name: "independent nodes keep their order", nodes: [node("b"), node("a")], order: ["b", "a"] },
    { name: "a chain", nodes: [node("c", "b"), node("b", "a"), node("a")], order: ["a", "b", "c"] },
    { name: "a diamond", nodes: [node("d", "b", "c"), node("b", "a"), node("c", "a"), node("a")], order: ["a", "b", "c", "d"] },
    { name: "unknown dependencies are ignored", nodes: [node("a", "elsewhere")], order: ["a"] },
    { name: "duplicate edges count once", nodes: [node("b", "a", "a"), node("a")], order: ["a", "b"] },
    { name: "a self-cycle", nodes: [node("a", "a")], cycle: ["a", "a"] },
    { name: "a two-cycle", nodes: [node("a", "b"), node("b", "a")], cycle: ["a", "b", "a"] },
    { name: "a cycle behind a healthy part", nodes: [node("x"), node("a", "x", "c"), node("b", "a"), node("c", "b"), node("y", "a")], cycle: ["a", "c", "b", "a"] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.order) expect(topologicalOrder(c.nodes)).toEqual(c.order);
      else {
        let caught: unknown;
        try {
          topologicalOrder(c.nodes);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(CycleError);
        expect((caught as CycleError).cycle).toEqual(c.cycle);
        expect((caught as CycleError).message).toBe(`dependency cycle: ${c.cycle!.join(" -> ")}`);
      }
    });
  }
});
