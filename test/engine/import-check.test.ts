// importProblems: what `virtform import` refuses before it touches state or the backend.
import { describe, expect, it } from "vitest";
import { importProblems, type ImportRequest } from "../../engine/import-check.ts";
import { emptyState, type State } from "../../engine/state.ts";
import { kindsByPrefix } from "../../sdk/kinds/index.ts";


function stateOf(stack: string, resources: Record<string, [kind: string, id: string]>, deposed: [string, string, string][] = []): State {
  const state = emptyState(stack);
  for (const [address, [kind, id]] of Object.entries(resources)) state.resources[address] = { kind, id, inputs: {}, outputs: {}, dependsOn: [] };
  state.deposed = deposed.map(([address, kind, id]) => ({ address, kind, id, inputs: {}, outputs: {}, dependsOn: [] }));
  return state;
}

const context = {
  kindsByPrefix: new Map([
    ["volume", "Volume"],
    ["pool", "StoragePool"],
  ]),
  program: "infra.ts",
  declared: new Map([
    ["volume.data", "Volume"],
    ["volume.new", "Volume"],
    ["volume.other", "Volume"],
    ["pool.p", "StoragePool"],
  ]),
  state: stateOf("app", { "volume.data": ["Volume", "vol-1"] }, [["volume.old", "Volume", "vol-9"]]),
  others: [stateOf("storage", { "volume.logs": ["Volume", "vol-2"], "pool.q": ["StoragePool", "vol-3"] })],
};

const rows: { name: string; requests: ImportRequest[]; problems: string[] }[] = [
  { name: "a declared address and a free object", requests: [{ address: "volume.new", id: "vol-5" }], problems: [] },
  {
    name: "an address without a kind",
    requests: [{ address: "thing.x", id: "vol-5" }],
    problems: ["thing.x: the address does not start with a kind (volume., pool.)"],
  },
  {
    name: "an address the program does not declare",
    requests: [{ address: "volume.foo", id: "vol-5" }],
    problems: ["volume.foo: configuration for import target does not exist: infra.ts declares no volume.foo; declare it first, then import"],
  },
  { name: "an address already in state", requests: [{ address: "volume.data", id: "vol-5" }], problems: ["volume.data is already in state (as vol-1)"] },
  {
    name: "an object this stack manages under another address",
    requests: [{ address: "volume.new", id: "vol-1" }],
    problems: [
      "vol-1 is already managed by this stack as volume.data; importing it as volume.new too would let a plan delete it (rename with virtform state mv instead)",
    ],
  },
  {
    name: "the old copy of a replacement, which the next apply deletes",
    requests: [{ address: "volume.new", id: "vol-9" }],
    problems: [
      "vol-9 is already managed by this stack as volume.old (the old copy of a replacement, to be deleted); importing it as volume.new too would let a plan delete it (rename with virtform state mv instead)",
    ],
  },
  {
    name: "an object another stack manages",
    requests: [{ address: "volume.new", id: "vol-2" }],
    problems: [
      'vol-2 is managed by stack "storage" as volume.logs; an object belongs to one stack (remove it there with virtform state rm --stack storage first)',
    ],
  },
  {
    name: "the same id under another kind is another object",
    requests: [{ address: "volume.new", id: "vol-3" }],
    problems: [],
  },
  {
    name: "a batch names the line of every problem and lets no duplicate through",
    requests: [
      { address: "volume.new", id: "vol-5", origin: "f:1" },
      { address: "volume.new", id: "vol-6", origin: "f:2" },
      { address: "volume.other", id: "vol-5", origin: "f:3" },
      { address: "pool.p", id: "vol-7", origin: "f:4" },
    ],
    problems: [
      "f:2: volume.new is imported twice (also as vol-5 at f:1)",
      "f:3: vol-5 is imported twice: as volume.new at f:1 and as volume.other; an object has one address",
    ],
  },
];

describe("importProblems", () => {
  for (const row of rows) {
    it(row.name, () => {
      expect(importProblems(row.requests, context)).toEqual(row.problems);
    });
  }
});

describe("the kinds' address prefixes", () => {
  it("name every kind, snapshot. included (a hand-written list once missed it)", () => {
    const [problem] = importProblems([{ address: "thing.x", id: "vol-5" }], { ...context, kindsByPrefix });
    expect(problem).toBe("thing.x: the address does not start with a kind (cluster., image., pool., volume., snapshot., instances., attachment.)");
    expect(importProblems([{ address: "snapshot.nightly", id: "snap-1" }], { ...context, kindsByPrefix })[0]).toMatch(/declares no snapshot\.nightly/);
  });
});
