// Every DSL entry point checks what a program passes it and reports `file:line: address: path:
// message`, whatever the value (a Symbol, a BigInt, null, a cycle, a getter that throws), instead
// of throwing from inside the SDK. Evaluated in-process: this is the SDK's own logic.
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../core/model.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack, variantMatrix, type StackBuilder, type StackDefinition } from "../../sdk/index.ts";

const here = "test/sdk/validate-args.test.ts";

/** The example's resources, for cases that break one call of it. */
function base(s: StackBuilder) {
  const pool = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("app", { base: "debian-12", packages: ["tomcat10"], variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  const group = web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  const data = pool.volume("data", { sizeGiB: 1 });
  return { pool, img, web, group, data };
}

// Values a program may pass where the types say otherwise (JavaScript, `as any`, data read at run time).
const any = (value: unknown) => value as never;

const cases: { name: string; program: StackDefinition; expected: string[] }[] = [
  {
    name: "a name that is not a string",
    program: stack("t", (s) => void s.storagePool(any(42), { media: "ssd", devices: [{ sizeGiB: 1 }] })),
    expected: ["pool.42: the name must be a string, got 42"],
  },
  {
    name: "a Symbol as a name, and a Symbol as a variant",
    program: stack("t", (s) => {
      const { web, img } = base(s);
      s.cluster(any(Symbol("x")), { hypervisor: "native", hosts: { count: 1, vcpu: 1, memoryGiB: 1, localDiskGiB: 0 } });
      web.instances("b", { count: 1, image: img.variant(any(Symbol("heavy"))), vcpu: 1, memoryGiB: 1 });
    }),
    expected: [
      "cluster.a Symbol(x): the name must be a string, got a Symbol(x)",
      "instances.web/b[0]: image: image.app has no variant a Symbol(heavy) (it has: light)",
    ],
  },
  {
    name: "an instance group's own name follows the pattern too",
    program: stack("t", (s) => void base(s).web.instances("Bad Name", { count: 1, image: base(s).img.variant("light"), vcpu: 1, memoryGiB: 1 })),
    expected: ['instances.web/Bad Name[0]: invalid name "Bad Name": use lower-case letters, digits and dashes'],
  },
  {
    name: "arguments that are not an object",
    program: stack("t", (s) => {
      const { pool, web, data, group } = base(s);
      pool.volume("v", any(null));
      web.instances("g", any("big"));
      data.snapshot("snap", any(7));
      data.attachTo(group, any([1]));
    }),
    expected: [
      "volume.v: the arguments must be an object of fields, got null",
      'instances.web/g[0]: the arguments must be an object of fields, got "big"',
      "snapshot.snap: the arguments must be an object of fields, got 7",
      "attachment.data@web/app[0]: the arguments must be an object of fields, got an array",
    ],
  },
  {
    name: "handles of the wrong kind",
    program: stack("t", (s) => {
      const { pool, data, web } = base(s);
      pool.volume("clone", { sizeGiB: 1, source: any("snap-1") });
      data.attachTo(any(web));
      data.addDependency(any(null));
    }),
    expected: [
      'volume.clone: source: expected a snapshot or volume of this program, got "snap-1"',
      "attachment.data@invalid-target: instance: expected an instance or instance group of this program, got a Cluster",
      "volume.data: addDependency: expected a resource or instance group of this program, got null",
    ],
  },
  {
    name: "options checked against their schema",
    program: stack("t", (s) => {
      const { pool } = base(s);
      pool.volume("a", { sizeGiB: 1 }, any({ dependsOn: [null] }));
      pool.volume("b", { sizeGiB: 1 }, any({ protect: "yes", ignoreChanges: "sizeGiB", retain: true }));
      pool.volume("c", { sizeGiB: 1 }, { ignoreChanges: ["sizeGiB"], replaceOnChanges: ["sizeGb"] });
    }),
    expected: [
      "volume.a: options.dependsOn: expected a resource or instance group of this program, or a list of them",
      "volume.b: options.protect: Invalid input: expected boolean, received string",
      "volume.b: options.ignoreChanges: Invalid input: expected array, received string",
      'volume.b: options: Unrecognized key: "retain"',
      'volume.c: options.replaceOnChanges[0]: "sizeGb" is not an input of Volume (its inputs: pool, sizeGiB, multiAttach, deleteProtection, source)',
    ],
  },
  {
    name: "a BigInt count, a cycle, a symbol key, a getter that throws",
    program: stack("t", (s) => {
      const { web, img, pool } = base(s);
      web.instances("n", { count: any(2n), image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
      const devices: unknown[] = [];
      devices.push(devices);
      s.storagePool("cyclic", { media: "ssd", devices: any(devices) });
      pool.volume("sym", any({ sizeGiB: 1, [Symbol("k")]: 1 }));
      // A key "__proto__" of its own (JSON.parse, or a computed key): zod's records would drop it.
      s.storagePool("proto", any({ media: "ssd", devices: [JSON.parse('{"sizeGiB": 1, "__proto__": {}}')] }));
      s.storagePool("getter", any({ media: "ssd", get devices() { throw new RangeError("no devices"); } }));
    }),
    expected: [
      "instances.web/n: count: Invalid input: expected number, received bigint (got 2n)",
      "pool.cyclic: devices[0]: the value contains itself (a cycle); pass plain data",
      "volume.sym: a Symbol(k) cannot be a field name: use strings",
      `pool.proto: devices[0].__proto__: the key "__proto__" cannot be used: JavaScript reserves it, and the kinds' schemas would drop it without a word`,
      "pool.getter: reading its arguments threw: RangeError: no devices",
    ],
  },
  {
    name: "a value used twice is no cycle; a cycle and a value nested too deep in the outputs are",
    program: stack("t", (s) => {
      const { pool } = base(s);
      const device = { sizeGiB: 1 };
      s.storagePool("twice", { media: "ssd", devices: [device, device] });
      const shared = { n: 1 };
      const loop: Record<string, unknown> = { shared };
      loop.self = { back: loop };
      let deep: unknown = 1;
      for (let i = 0; i < 70; i++) deep = { d: deep };
      return { pair: { a: shared, b: shared, id: pool.id }, loop: any(loop), deep: any(deep) };
    }),
    expected: [
      "outputs: loop.self.back: the value contains itself (a cycle); pass plain data",
      `outputs: deep${".d".repeat(63)}: the value is nested more than 64 levels deep`,
    ],
  },
  {
    name: "variantMatrix of things that are not variants",
    program: stack("t", (s) => {
      s.image("m", { base: "debian-12", variants: variantMatrix(any(null), { b: {} }) });
      s.image("n", { base: "debian-12", variants: variantMatrix({ a: any(5) }, { b: {} }) });
      s.image("o", { base: "debian-12", variants: variantMatrix({ a: { packages: any("x") } }, { b: {} }) });
    }),
    expected: [
      "image.m: variants: variantMatrix: dimension 1 must be an object of named variants, got null",
      "image.n: variants.a-b: variantMatrix: a variant must be an object like { packages, config }, got 5",
      "image.o: variants.a-b.packages: Invalid input: expected array, received string",
    ],
  },
  {
    name: "what the build throws: its message and line, never its stack",
    program: stack("t", (s) => {
      base(s);
      (null as unknown as { split(): void }).split();
    }),
    expected: ["the program threw: TypeError: Cannot read properties of null (reading 'split')"],
  },
  {
    name: "a thrown value that is not an Error, and outputs that are not an object",
    program: stack("t", () => {
      throw Symbol("odd");
    }),
    expected: ["the program threw: a Symbol(odd)"],
  },
  {
    name: "an async build",
    program: stack("t", any(async () => undefined)),
    expected: ["the build function returned a Promise: declare resources synchronously"],
  },
  {
    name: "outputs that are not an object of outputs",
    program: stack("t", any(() => "done")),
    expected: ['outputs: the build function must return an object of named outputs, or nothing; it returned "done"'],
  },
  {
    name: "a stack name that is a path, holds NUL, or is not a string",
    program: stack("../../../x/pwn", () => undefined),
    expected: ['stack: invalid stack name "../../../x/pwn": a stack name uses letters, digits, dots, dashes and underscores'],
  },
  {
    name: "a stack name with NUL",
    program: stack("a\u0000b", () => undefined),
    expected: ['stack: invalid stack name "a\\u0000b"'],
  },
  {
    name: "a stack name that is not a string, and a build that is not a function",
    program: stack(any({ name: "x" }), any("build")),
    expected: ["stack: invalid stack name: a stack name must be a string, got an object", 'build must be a function (s) => { ... }, got "build"'],
  },
];

describe("DSL entry points check their arguments", () => {
  it.each(cases)("$name", ({ program, expected }) => {
    const evaluated = evaluateStack(program);
    const errors = evaluated.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    for (const text of expected) {
      const match = errors.find((e) => e.includes(text));
      expect(match, `${text}\nin:\n${errors.join("\n")}`).toBeDefined();
      // file:line first: the line of the call in this file
      expect(match).toMatch(new RegExp(`^${here.replaceAll(".", "\\.")}:\\d+: `));
    }
    for (const e of errors) expect(e).not.toMatch(/\n\s+at /);
  });

  it("a program without mistakes has none reported", () => {
    const evaluated = evaluateStack(stack("t", (s) => void base(s)));
    expect(evaluated.diagnostics).toEqual([]);
  });
});
