// `virtform plan|apply|destroy --pulumi`: real Pulumi programs run by the real CLI against virtform's
// own resource monitor, planned and applied by the native engine into the embedded emulator.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, runCli } from "../helpers/cli.ts";
import { terraform, terraformAvailable, terraformWorkdir } from "../terraform/terraform.ts";

interface Dumped {
  id: string;
  name: string;
  spec: unknown;
}
/** Each Pulumi run is a second or two; on a machine shared with other work, several can take much longer. */
const SLOW = 120_000;
const COLLECTIONS = ["clusters", "images", "pools", "volumes", "snapshots", "instances", "attachments"];

/** The emulator's objects by collection and name, their specs with every id replaced by its object's name. */
function objects(dir: string): Record<string, unknown> {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, Record<string, Dumped>>;
  const all = COLLECTIONS.flatMap((c) => Object.values(data[c] ?? {}).map((o) => ({ collection: c, ...o })));
  const names = new Map(all.map((o) => [o.id, o.name]));
  const named = (v: unknown): unknown =>
    typeof v === "string" ? (names.has(v) ? `<${names.get(v)}>` : v) : Array.isArray(v) ? v.map(named) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, named(x)])) : v;
  return Object.fromEntries(all.map((o) => [`${o.collection}/${o.name}`, named(o.spec)]));
}

/**
 * The emulator's objects with their names left out, sorted: each is its collection and its spec, every
 * id in it replaced by the referenced object's own such form. Terraform names objects by their create
 * token, not by address, so this compares its objects with the others' one by one, references and all.
 * Fields named in leaveOut are left out at any depth.
 */
function unnamed(dir: string, leaveOut: readonly string[] = []): string[] {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, Record<string, Dumped>>;
  const all = COLLECTIONS.flatMap((c) => Object.values(data[c] ?? {}).map((o) => ({ collection: c, ...o })));
  const byId = new Map(all.map((o) => [o.id, o]));
  const forms = new Map<string, string>();
  const form = (o: (typeof all)[number]): string => {
    if (!forms.has(o.id)) forms.set(o.id, `${o.collection} ${canonical(o.spec)}`);
    return forms.get(o.id)!;
  };
  const canonical = (v: unknown): string => {
    if (typeof v === "string") return byId.has(v) ? `<${form(byId.get(v)!)}>` : JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object") return `{${Object.keys(v).filter((k) => !leaveOut.includes(k)).sort().map((k) => `${k}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
    return JSON.stringify(v);
  };
  return all.map(form).sort();
}

function project(files: Record<string, string>): string {
  const dir = makeWorkdir("virtform-pulumi-");
  const files_ = { "Pulumi.yaml": "name: acme\nruntime: nodejs\n", "package.json": '{ "name": "acme", "private": true, "type": "module" }\n', ...files };
  for (const [name, text] of Object.entries(files_)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe("virtform apply --pulumi", () => {
  it("applies the java-appserver example (the repository's Pulumi.yaml) as the native program does: the same objects, kinds, names and specs; and through terraform, the same objects but for their names", async () => {
    const native = makeWorkdir();
    const viaPulumi = makeWorkdir();
    // examples/terraform is the same example as a Terraform configuration, on the embedded emulator.
    const withTerraform = terraformAvailable();
    const viaTerraform = terraformWorkdir(undefined, join(repoRoot, "examples", "terraform"));
    const [a, b, c] = await Promise.all([
      runCli(native, ["apply", join(repoRoot, "examples/java-appserver/infra.ts"), "--yes"]),
      runCli(viaPulumi, ["apply", "--pulumi", repoRoot, "--yes"]),
      withTerraform ? terraform(viaTerraform, ["apply", "-auto-approve"]) : undefined,
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/Stack virtform-shop\.dev: virtform will perform these actions/);
    expect(b.stdout).toMatch(/Apply complete: 21 created/);
    expect(b.stdout).toMatch(/sharedVolumeId = "vol-[0-9a-f]+"/);
    const expected = objects(native);
    expect(Object.keys(expected)).toHaveLength(21);
    expect(objects(viaPulumi)).toEqual(expected);
    if (c) {
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toContain("Apply complete! Resources: 21 added, 0 changed, 0 destroyed.");
      // The configuration names the native program's lock (lock_key, virtform.lock): the same locked
      // package sets and digests; the objects differ only in their names.
      const unnamedAll = unnamed(native, []);
      // Every object has a form of its own, so equal lists mean equal objects one by one.
      expect(new Set(unnamedAll).size).toBe(21);
      expect(unnamed(viaTerraform, [])).toEqual(unnamedAll);
    }
  }, SLOW);

  it("runs a program with a component, config and options: components as parents in plan and graph, stack outputs, a converged plan, protect", async () => {
    const dir = project({
      "Pulumi.dev.yaml": "config:\n  acme:dataGiB: 20\n",
      "index.ts": `import * as pulumi from "@pulumi/pulumi";
import * as virtform from "virtform/pulumi";

class Storage extends pulumi.ComponentResource {
  readonly pool: virtform.storage.StoragePool;
  constructor(name: string) {
    super("acme:storage:Storage", name, {});
    this.pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] }, { parent: this });
    this.registerOutputs({});
  }
}
const storage = new Storage("storage");
const data = new virtform.storage.Volume("data", { pool: storage.pool.id, sizeGiB: new pulumi.Config().requireNumber("dataGiB") }, { protect: true });
new virtform.storage.Volume("scratch", { pool: storage.pool.id, sizeGiB: 5 }, { dependsOn: [storage] });
export const poolId = storage.pool.id;
export const dataGiB = data.sizeGiB;
`,
    });
    const applied = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("Components (Pulumi component resources and the resources under them):\n  storage (acme:storage:Storage)\n    pool.fast\n");
    expect(applied.stdout).toMatch(/\+ volume\.data will be created {2}# index\.ts:13/);
    expect(applied.stdout).toMatch(/Outputs:\n {2}dataGiB = 20\n {2}poolId = "pool-[0-9a-f]+"/);
    const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, Record<string, Dumped>>;
    expect(Object.values(data.volumes!).map((v) => [v.name, (v.spec as { sizeGiB: number }).sizeGiB]).sort()).toEqual([["volume.data", 20], ["volume.scratch", 5]]);

    const [again, graph] = await Promise.all([runCli(dir, ["plan", ".", "--detailed-exitcode"]), runCli(dir, ["graph", "--pulumi", "--format", "mermaid"])]);
    // A directory holding Pulumi.yaml is a Pulumi program without --pulumi.
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("No changes. Stack acme.dev matches the program.");
    expect(graph.code, graph.stderr).toBe(0);
    expect(graph.stdout).toContain('  subgraph c0["storage (acme:storage:Storage)"]\n    r0\n  end\n');
    expect(graph.stdout).toContain("  r1 --> r0\n  r2 --> r0\n");

    const destroy = await runCli(dir, ["destroy", "--pulumi", "--yes"]);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain("index.ts:13: volume.data: destroy would delete protected volume.data");
  }, SLOW);

  it("reports a bad program's errors by address, field and line, a dependsOn cycle, a variant the image lacks (the program throws), a refused Resource.get and a failing resource, without hanging", async () => {
    const dir = project({
      "index.ts": `import * as virtform from "virtform/pulumi";
const pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
new virtform.storage.Volume("data", { pool: pool.id, sizeGiB: -5 });
new virtform.storage.Volume("named", { pool: pool.id.apply((id) => id + "-x"), sizeGiB: 5 });
`,
      // Two volumes that depend on each other: b is made once a is, and a waits for b.
      "cycle/index.ts": `import * as pulumi from "@pulumi/pulumi";
import * as virtform from "virtform/pulumi";
const pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
let resolveB: (v: virtform.storage.Volume) => void = () => {};
const b = new Promise<virtform.storage.Volume>((resolve) => (resolveB = resolve));
const a = new virtform.storage.Volume("a", { pool: pool.id, sizeGiB: 1 }, { dependsOn: pulumi.output(b).apply((v) => [v]) as pulumi.Input<pulumi.Resource[]> });
resolveB(new virtform.storage.Volume("b", { pool: pool.id, sizeGiB: 1 }, { dependsOn: [a] }));
`,
      "cycle/Pulumi.yaml": "name: cycle\nruntime: nodejs\n",
      // Valid inputs, but the pool cannot hold the volume: the emulator refuses it.
      "failing/index.ts": `import * as virtform from "virtform/pulumi";
const pool = new virtform.storage.StoragePool("small", { media: "ssd", devices: [{ sizeGiB: 100 }] });
new virtform.storage.Volume("huge", { pool: pool.id, sizeGiB: 5000 });
`,
      "failing/Pulumi.yaml": "name: failing\nruntime: nodejs\n",
      // TypeScript refuses the variant (the SDK types it); run without a type check, it fails clearly.
      "variant/index.ts": `import * as virtform from "virtform/pulumi";
const app = new virtform.images.Image("app", { base: "debian-12", variants: { light: {} } });
const web = new virtform.compute.Cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
// @ts-expect-error: app has no variant "heavy"
new virtform.compute.Instance("vm", { cluster: web.id, group: "app", index: 0, image: app.variant("heavy"), vcpu: 1, memoryGiB: 1 });
`,
      "variant/Pulumi.yaml": "name: variant\nruntime: nodejs\n",
      // A call virtform's monitor refuses: the SDK's error path (where Node 20 hung in util.inspect).
      "get/index.ts": `import * as virtform from "virtform/pulumi";
export const size = virtform.storage.Volume.get("old", "vol-000001").sizeGiB;
`,
      "get/Pulumi.yaml": "name: get\nruntime: nodejs\n",
    });
    /** The run and how long it took: a failure must end with the program, not ~30 s later (nodejs/node#64011). */
    const timed = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const started = Date.now();
      const result = await runCli(dir, args, env);
      return { ...result, seconds: (Date.now() - started) / 1000 };
    };
    const [invalid, cycle, failing, variant, get] = await Promise.all([
      timed(["plan", "--pulumi"]),
      timed(["plan", "--pulumi", "cycle"]),
      timed(["apply", "--pulumi", "failing", "--yes"]),
      timed(["plan", "--pulumi", "variant"]),
      timed(["plan", "--pulumi", "get"]),
    ]);
    // Each takes about a second alone; the bound leaves room for a loaded machine, not for the hang.
    for (const run of [invalid, cycle, failing, variant, get]) expect(run.seconds).toBeLessThan(30);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain("Error: failed to read resource #vol-000001 'old' [virtform:storage:Volume]: 12 UNIMPLEMENTED: virtform's resource monitor does not implement ReadResource (Resource.get)");
    expect(get.stderr).not.toContain("promise: Promise");
    expect(variant.code).toBe(1);
    // The SDK says it either as the apply's own error or wrapped by the input it was serializing,
    // depending on which of the two reaches the variant's digest first.
    expect(variant.stderr).toMatch(/the Pulumi program variant\/index\.ts failed:\n {2}Error: (error serializing property "image": )?image has no variant heavy \(it has: light\)\n\s+at .*images\.ts:\d+/);
    // Without the SDK's terminal colours or Node's internal frames.
    expect(variant.stderr).not.toContain("\u001b[");
    expect(variant.stderr).not.toContain("node:internal");
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/Error: the plan cannot be applied: 1 problem\n {2}.*volume\.huge: /);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain('"a" [virtform:storage:Volume] was waiting for the URNs of its dependencies to resolve');
    expect(cycle.stderr).toMatch(/the Pulumi program .*cycle\/index\.ts failed/);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("index.ts:3: volume.data: sizeGiB: Too small");
    // A value computed from an output not known yet is deferred to a later pass, not an error.
    expect(invalid.stderr).not.toContain("volume.named");

  }, SLOW);

  it("converges on the next apply after a --pulumi apply is SIGKILLed between a create and its record", async () => {
    const dir = project({
      "index.ts": `import * as virtform from "virtform/pulumi";
const pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
const data = new virtform.storage.Volume("data", { pool: pool.id, sizeGiB: 10 });
new virtform.storage.Snapshot("nightly", { volume: data.id });
`,
    });
    // Records: the pool's pending create and result, then the volume's: killed just before the 4th,
    // the volume exists in the emulator and state has only its pending create.
    const killAt = fileURLToPath(new URL("../helpers/kill-at-record.ts", import.meta.url));
    const killed = await new Promise<string | number>((resolve) =>
      execFile(process.execPath, ["--import", killAt, join(repoRoot, "bin/virtform.mjs"), "apply", "--pulumi", "--yes", "--parallelism", "1"], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", VIRTFORM_KILL_AT: "before:4" },
      }, (error) => resolve(error ? (error.signal ?? error.code ?? 1) : 0)),
    );
    expect(killed).toBe("SIGKILL");
    const resumed = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("note: volume.data: a create interrupted by an earlier run was found in the backend and adopted into state");
    const names = Object.keys(objects(dir)).sort();
    expect(names).toEqual(["pools/pool.fast", "snapshots/snapshot.nightly", "volumes/volume.data"]);
    const again = await runCli(dir, ["plan", "--pulumi", "--detailed-exitcode", "--no-refresh"]);
    expect(again.code, again.stdout).toBe(0);
  }, SLOW);

  it("runs a CommonJS program (require, as Pulumi's JavaScript template writes) with no node_modules of its own", async () => {
    const dir = project({
      "package.json": '{ "name": "acme", "private": true }\n',
      "Pulumi.yaml": "name: acme\nruntime: nodejs\nmain: index.js\n",
      "index.js": `"use strict";
const pulumi = require("@pulumi/pulumi");
const virtform = require("virtform/pulumi");
const pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
exports.pool = pulumi.interpolate\`pool \${pool.id}\`;
`,
    });
    const applied = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/pool = "pool pool-[0-9a-f]+"/);
    expect(objects(dir)).toEqual({ "pools/pool.fast": { media: "ssd", devices: [{ sizeGiB: 100 }], overcommit: expect.anything() } });
  }, SLOW);

  it("locks a Pulumi project's images (images lock DIR) beside its program file, and plan --pulumi uses the lock", async () => {
    const dir = project({
      "Pulumi.yaml": "name: imgs\nruntime: nodejs\nmain: src/index.ts\n",
      "src/index.ts": `import * as virtform from "virtform/pulumi";
new virtform.images.Image("app", { base: "debian-12", packages: ["jdk"], variants: { light: {}, heavy: { packages: ["httpd-a"] } } });
`,
    });
    // A malformed lock is the user's to regenerate, not a bug in virtform (it was reported as one under Pulumi).
    writeFileSync(join(dir, "src", "virtform.lock"), "{ bad\n");
    const malformed = await runCli(dir, ["plan", "--pulumi"]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^Error: .*src\/virtform\.lock is not valid JSON \([^]*\); regenerate it with 'virtform images lock'\n$/);
    const locked = await runCli(dir, ["images", "lock", ".", "--packages", join(repoRoot, "test/images/fixtures/Packages")]);
    expect(locked.code, locked.stderr).toBe(0);
    expect(locked.stdout).toContain("image.app:heavy: locked 5 packages"); // with the fixture base (Priority: required)
    expect(locked.stdout).toContain("Wrote src/virtform.lock: 2 variants changed.");
    const plan = await runCli(dir, ["plan", "--pulumi"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).not.toContain("virtform.lock");
    expect(plan.stdout).toContain('+ locked.heavy.packages.httpd-a = "1.0-1"');
  }, SLOW);
});
