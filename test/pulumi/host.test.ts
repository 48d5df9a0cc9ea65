// The Pulumi host's pure parts: URNs, placeholders for outputs and their way back to References,
// registrations as desired resources (options, dependencies, components), and stack config with
// Pulumi's passphrase-encrypted `secure:` values.
import { createCipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { urnOf, type Registration } from "../../cli/pulumi/monitor.ts";
import { placeholder, placeholderProperties, restoreReferences, type Embedded } from "../../cli/pulumi/placeholders.ts";
import { desiredResources } from "../../cli/pulumi/desired.ts";
import { componentTree, renderComponentsText } from "../../cli/pulumi/components.ts";
import { readProject } from "../../cli/pulumi/project.ts";
import { readable } from "../../cli/pulumi/run-program.ts";
import { makeWorkdir } from "../helpers/cli.ts";
import { UNKNOWN, type Value } from "../../core/model.ts";
import { renderDeferredText } from "../../cli/pulumi/deferred.ts";

const STACK = "urn:pulumi:dev::acme::pulumi:pulumi:Stack::acme-dev";

describe("URNs", () => {
  it.each([
    ["a child of the stack", "virtform:storage:Volume", "data", STACK, "urn:pulumi:dev::acme::virtform:storage:Volume::data"],
    ["no parent", "virtform:storage:Volume", "data", "", "urn:pulumi:dev::acme::virtform:storage:Volume::data"],
    ["a component's child", "virtform:storage:Volume", "data", "urn:pulumi:dev::acme::acme:Shop::shop", "urn:pulumi:dev::acme::acme:Shop$virtform:storage:Volume::data"],
    ["nested components", "acme:Db", "db", "urn:pulumi:dev::acme::acme:Shop::shop", "urn:pulumi:dev::acme::acme:Shop$acme:Db::db"],
  ])("%s", (_, type, name, parent, urn) => {
    expect(urnOf("acme", "dev", type, name, parent)).toBe(urn);
  });
});

describe("placeholders", () => {
  it("answer an image with its id, its inputs, and each output; the variants map keyed as the program's", () => {
    const { id, properties } = placeholderProperties("Image", "image.app", { base: "debian-12", variants: { light: {}, heavy: {} } });
    expect(id).toBe(placeholder("image.app", "id"));
    expect(properties.base).toBe("debian-12");
    const variants = properties.variants as Record<string, Record<string, Value>>;
    expect(Object.keys(variants)).toEqual(["light", "heavy"]);
    expect(restoreReferences(variants.heavy!.digest!)).toEqual({ $ref: "image.app", path: "variants.heavy.digest" });
    expect(restoreReferences(properties.layers as Value)).toEqual({ $ref: "image.app", path: "layers" });
  });

  it.each<[string, Value, unknown, Embedded[]]>([
    ["a placeholder passed as it is", placeholder("pool.fast", "id"), { $ref: "pool.fast", path: "id" }, []],
    ["plain values", { a: [1, "x"], b: null }, { a: [1, "x"], b: null }, []],
    ["nested", { image: { image: placeholder("image.app", "id"), variant: "light" } }, { image: { image: { $ref: "image.app", path: "id" }, variant: "light" } }, []],
    [
      "one a program function built into a string",
      { name: `${placeholder("pool.fast", "id")}-x` },
      { name: `${placeholder("pool.fast", "id")}-x` },
      [{ path: "name", reference: { $ref: "pool.fast", path: "id" } }],
    ],
    ["one transformed past recognition", { name: placeholder("pool.fast", "id").toUpperCase() }, { name: placeholder("pool.fast", "id").toUpperCase() }, [{ path: "name" }]],
    ["inside an array", { list: [`pre ${placeholder("volume.a", "id")}`] }, { list: [`pre ${placeholder("volume.a", "id")}`] }, [{ path: "list[0]", reference: { $ref: "volume.a", path: "id" } }]],
  ])("restore %s", (_, value, restored, embedded) => {
    const found: Embedded[] = [];
    expect(restoreReferences(value, found)).toEqual(restored);
    expect(found).toEqual(embedded);
  });
});

function registration(partial: Partial<Registration> & Pick<Registration, "type" | "name">): Registration {
  const parent = partial.parent ?? STACK;
  return {
    urn: urnOf("acme", "dev", partial.type, partial.name, parent),
    parent,
    custom: true,
    inputs: {},
    secretPaths: [],
    dependencies: [],
    propertyDependencies: {},
    protect: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    deleteBeforeReplace: false,
    retainOnDelete: false,
    additionalSecretOutputs: [],
    importId: "",
    ...partial,
  };
}

describe("registrations as desired resources", () => {
  const stack = registration({ type: "pulumi:pulumi:Stack", name: "acme-dev", parent: "", custom: false });
  const shop = registration({ type: "acme:Shop", name: "shop", custom: false });
  const pool = registration({ type: "virtform:storage:StoragePool", name: "fast", parent: shop.urn, inputs: { media: "ssd", devices: [{ sizeGiB: 100 }] } });
  const volume = registration({
    type: "virtform:storage:Volume",
    name: "data",
    inputs: { pool: placeholder("pool.fast", "id"), sizeGiB: 10, secretNote: "x" },
    secretPaths: [],
    dependencies: [shop.urn],
    protect: true,
    ignoreChanges: ["sizeGiB"],
    replaceOnChanges: ["pool", "multiAttach"],
    deleteBeforeReplace: true,
    retainOnDelete: true,
    source: { file: join(process.cwd(), "index.ts"), line: 7 },
  });

  it("map URNs to addresses, options to lifecycle options, a component dependency to the resources under it", () => {
    const { resources, diagnostics, parents } = desiredResources("acme.dev", [stack, shop, pool, { ...volume, inputs: { pool: placeholder("pool.fast", "id"), sizeGiB: 10 } }], { values: {}, secretPaths: [] });
    expect(diagnostics).toEqual([]);
    expect(resources.map((r) => r.address)).toEqual(["pool.fast", "volume.data"]);
    const data = resources[1]!;
    expect(data.inputs).toEqual({ pool: { $ref: "pool.fast", path: "id" }, sizeGiB: 10, multiAttach: false, deleteProtection: false });
    expect(data.dependsOn).toEqual(["pool.fast"]);
    // pool is the kind's own replace-on-change field (the SDK adds those); multiAttach is the program's.
    expect(data.options).toEqual({ protect: true, ignoreChanges: ["sizeGiB"], replaceOnChanges: ["multiAttach"], deleteBeforeReplace: true, retainOnDelete: true });
    expect(data.source).toEqual({ file: "index.ts", line: 7 });
    expect(data.secretPaths).toBeUndefined();
    expect(parents).toEqual({ "pool.fast": ["shop (acme:Shop)"] });
  });

  it("report invalid inputs, foreign resource types and duplicate addresses by address, field and line", () => {
    const foreign = registration({ type: "aws:s3/bucket:Bucket", name: "b" });
    const provider = registration({ type: "pulumi:providers:virtform", name: "remote", inputs: { endpoint: "http://x" } });
    const duplicate = registration({ type: "virtform:storage:Volume", name: "data", parent: shop.urn, inputs: { pool: "p", sizeGiB: 1 } });
    const imported = registration({ type: "virtform:storage:Volume", name: "legacy", inputs: { pool: "p", sizeGiB: 1 }, importId: "vol-000042" });
    const sized = registration({ type: "virtform:storage:Volume", name: "sized", inputs: { pool: "p", sizeGiB: placeholder("pool.fast", "capacityGiB") } });
    const { diagnostics } = desiredResources("acme.dev", [stack, shop, pool, volume, foreign, provider, duplicate, imported, sized], { values: {}, secretPaths: [] });
    expect(diagnostics.map((d) => [d.address, d.path, d.source?.line, d.message])).toEqual([
      ["b", undefined, undefined, "aws:s3/bucket:Bucket is not a virtform resource type; virtform runs programs whose resources are virtform's (virtform/pulumi)"],
      ["remote", undefined, undefined, expect.stringContaining("an explicit virtform provider's settings are not used here")],
      ["volume.data", "secretNote", 7, "unknown field"],
      ["volume.data", undefined, undefined, expect.stringContaining("two resources have the address volume.data")],
      ["volume.legacy", undefined, undefined, expect.stringContaining("the import option (vol-000042) is not supported by virtform --pulumi")],
      ["volume.sized", "sizeGiB", undefined, expect.stringMatching(/^takes pool\.fast's capacityGiB, which is known only after apply; .*expected number/)],
    ]);
  });

  it("keep secret inputs and additionalSecretOutputs secret; stack outputs become references, an output of a secret field a secret output", () => {
    const vm = registration({ type: "virtform:compute:Instance", name: "vm", inputs: {} });
    const secretVolume = registration({
      type: "virtform:storage:Volume",
      name: "v",
      inputs: { pool: "pool-1", sizeGiB: 1, source: "vol-9" },
      secretPaths: ["source"],
      additionalSecretOutputs: ["sizeGiB", "source"],
    });
    expect(desiredResources("acme.dev", [stack, secretVolume], { values: {}, secretPaths: [] }).resources[0]!.secretPaths).toEqual(["source", "sizeGiB"]);
    const { outputs, secretOutputs } = desiredResources("acme.dev", [stack, vm], {
      values: { poolId: placeholder("pool.fast", "id"), userData: placeholder("instances.vm", "userData"), wrapped: "s" },
      secretPaths: ["wrapped"],
    });
    expect(outputs).toEqual({ poolId: { $ref: "pool.fast", path: "id" }, userData: { $ref: "instances.vm", path: "userData" }, wrapped: "s" });
    expect(secretOutputs).toEqual(["wrapped"]);
  });
});

describe("deferred resources", () => {
  const stack = registration({ type: "pulumi:pulumi:Stack", name: "acme-dev", parent: "", custom: false });
  const pool = registration({ type: "virtform:storage:StoragePool", name: "fast", inputs: { media: "ssd", devices: [{ sizeGiB: 100 }] } });
  const a = registration({ type: "virtform:storage:Volume", name: "a", inputs: { pool: placeholder("pool.fast", "id"), sizeGiB: 1 }, dependencies: [pool.urn] });
  // source came from a function over a's id (not run: UNKNOWN); sizeGiB is wrong whatever a is.
  const b = registration({
    type: "virtform:storage:Volume",
    name: "b",
    inputs: { pool: placeholder("pool.fast", "id"), sizeGiB: UNKNOWN, source: UNKNOWN },
    dependencies: [pool.urn, a.urn],
    propertyDependencies: { pool: [pool.urn], sizeGiB: [a.urn], source: [a.urn] },
    source: { file: join(process.cwd(), "index.ts"), line: 5 },
  });
  const snap = registration({ type: "virtform:storage:Snapshot", name: "s", inputs: { volume: placeholder("volume.b", "id") }, dependencies: [b.urn] });
  const late = registration({ type: "virtform:storage:Snapshot", name: "late", inputs: { volume: placeholder("volume.a", "id") }, dependencies: [a.urn, snap.urn] });
  const bad = registration({ type: "virtform:storage:Volume", name: "bad", inputs: { pool: UNKNOWN, sizeGiB: -1 }, propertyDependencies: { pool: [pool.urn] } });

  it("leave out what computes an input from an output not known yet, and what takes an output of, or depends on, a deferred resource", () => {
    const stackOutputs = { values: { aId: placeholder("volume.a", "id"), snapId: placeholder("snapshot.s", "id"), computed: UNKNOWN }, secretPaths: [] };
    const { resources, deferred, unknownOutputs, diagnostics } = desiredResources("acme.dev", [stack, pool, a, b, snap, late], stackOutputs);
    expect(diagnostics).toEqual([]);
    expect(resources.map((r) => r.address)).toEqual(["pool.fast", "volume.a"]);
    expect(deferred.map((d) => [d.address, d.unknown, d.waitsFor])).toEqual([
      ["volume.b", [{ path: "sizeGiB", from: ["volume.a"] }, { path: "source", from: ["volume.a"] }], []],
      ["snapshot.s", [], ["volume.b"]],
      ["snapshot.late", [], ["snapshot.s"]],
    ]);
    expect(deferred[0]!.source).toEqual({ file: "index.ts", line: 5 });
    expect(unknownOutputs).toEqual(["snapId", "computed"]);
    expect(renderDeferredText(deferred, unknownOutputs)).toBe(
      "\nDeferred (known after apply: planned in a later pass, once what they read is applied):\n" +
        "  ~ volume.b: sizeGiB is computed from volume.a; source is computed from volume.a  # index.ts:5\n" +
        "  ~ snapshot.s: waits for volume.b\n" +
        "  ~ snapshot.late: waits for snapshot.s\n" +
        "  outputs snapId, computed: known after apply\n\n",
    );
    expect(renderDeferredText([], [])).toBe("");
    // A program function left unrun (it may declare resources) holds back deletions: the plan says so.
    expect(renderDeferredText([], [], 1)).toBe(
      "\nDeletions wait until the program is fully known: 1 program function (apply, interpolate) reads outputs known only after apply.\n\n",
    );
  });

  it("still report what is wrong with the known inputs of a deferred resource", () => {
    const { diagnostics, deferred } = desiredResources("acme.dev", [stack, pool, bad], { values: {}, secretPaths: [] });
    expect(diagnostics.map((d) => [d.address, d.path, d.message])).toEqual([["volume.bad", "sizeGiB", expect.stringContaining("Too small")]]);
    expect(deferred).toEqual([]);
  });
});

describe("components", () => {
  it("nest as their chains say and are listed in the plan", () => {
    const parents = { "pool.fast": ["shop (acme:Shop)"], "volume.db": ["db (acme:Db)", "shop (acme:Shop)"] };
    expect(componentTree(parents).children).toEqual([
      { label: "shop (acme:Shop)", resources: ["pool.fast"], children: [{ label: "db (acme:Db)", resources: ["volume.db"], children: [] }] },
    ]);
    expect(renderComponentsText(parents)).toBe(
      "Components (Pulumi component resources and the resources under them):\n  shop (acme:Shop)\n    pool.fast\n    db (acme:Db)\n      volume.db\n\n",
    );
    expect(renderComponentsText({})).toBe("");
  });

  it("program errors lose the SDK's colours and Node's frames, and util.inspect's extras", () => {
    expect(readable("<ref *1> Error: failed to read resource\n    at file:///p/index.ts:2:42\n  promise: Promise { <rejected> [Circular *1] }\n}")).toBe(
      "Error: failed to read resource\n      at file:///p/index.ts:2:42",
    );
    expect(readable("\u001b[31mError: boom\u001b[39m\n    at file:///p/index.ts:5:3\n    at Module._compile (node:internal/modules/cjs/loader:1911:5)\n    at x (/r/node_modules/@pulumi/pulumi/run.js:1:1)")).toBe(
      "Error: boom\n      at file:///p/index.ts:5:3",
    );
    expect(readable("Running program '/p/index.ts' failed with an unhandled exception:\nReferenceError: x is not defined\n    at file:///p/index.ts:1:13")).toBe(
      "ReferenceError: x is not defined\n      at file:///p/index.ts:1:13",
    );
  });
});

describe("stack config", () => {
  const saved = process.env.PULUMI_CONFIG_PASSPHRASE;
  afterEach(() => {
    if (saved === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
    else process.env.PULUMI_CONFIG_PASSPHRASE = saved;
  });

  /** A stack file as `pulumi config set --secret` writes it with the passphrase provider (same format and key derivation). */
  function stackFile(dir: string, passphrase: string, secret: string): void {
    const salt = randomBytes(8);
    const key = pbkdf2Sync(passphrase, salt, 1_000_000, 32, "sha256");
    const seal = (text: string) => {
      const nonce = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      const sealed = Buffer.concat([cipher.update(text, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
    };
    writeFileSync(
      join(dir, "Pulumi.prod.yaml"),
      `encryptionsalt: v1:${salt.toString("base64")}:${seal("pulumi")}\nconfig:\n  acme:size: 3\n  other:name: x\n  token:\n    secure: ${seal(secret)}\n`,
    );
  }

  it("reads Pulumi.<stack>.yaml, namespaces bare keys, and decrypts secure: values with PULUMI_CONFIG_PASSPHRASE", () => {
    const dir = makeWorkdir("virtform-pulumi-config-");
    writeFileSync(join(dir, "Pulumi.yaml"), "name: acme\nruntime:\n  name: nodejs\n");
    writeFileSync(join(dir, "index.ts"), "");
    stackFile(dir, "correct horse", "s3cret");
    process.env.PULUMI_CONFIG_PASSPHRASE = "correct horse";
    const project = readProject(dir, undefined);
    expect(project).toMatchObject({ name: "acme", stack: "prod", main: join(dir, "index.ts"), secretKeys: ["acme:token"] });
    expect(project.config).toEqual({ "acme:size": "3", "other:name": "x", "acme:token": "s3cret" });

    process.env.PULUMI_CONFIG_PASSPHRASE = "wrong";
    expect(() => readProject(dir, undefined)).toThrow("Pulumi.prod.yaml: PULUMI_CONFIG_PASSPHRASE is not the passphrase this stack's secrets were encrypted with");
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    expect(() => readProject(dir, undefined)).toThrow("Pulumi.prod.yaml holds secure: values: set PULUMI_CONFIG_PASSPHRASE to the stack's passphrase");
  });
});
