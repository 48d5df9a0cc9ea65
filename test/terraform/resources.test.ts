// The schema Terraform sees, derived from the zod kinds, and the plan decisions, table-tested without
// gRPC or a backend (planning never reaches one).
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { UNKNOWN } from "../../core/model.ts";
import { EmbeddedBackend } from "../../provider/embedded-backend.ts";
import { VirtformProvider } from "../../provider/virtform-provider.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import { fromPacked, toPacked } from "../../provider/terraform/codec.ts";
import { UNKNOWN_EXTENSION, type Packed } from "../../provider/terraform/msgpack.ts";
import { imageVariantSchema } from "../../provider/terraform/image-variant.ts";
import { TerraformResources } from "../../provider/terraform/resources.ts";
import { QUIET_MS } from "../../provider/terraform/settling.ts";
import { resourceSchemas, schemaMessage } from "../../provider/terraform/schema.ts";
import type { Shape } from "../../provider/terraform/shape.ts";
import { join } from "node:path";
import { lockedInputs, type LockedInputs } from "../../images/lockfile.ts";
import { error, SEVERITY } from "../../provider/terraform/diagnostics.ts";
import { lockImage, openImageLock } from "../../provider/terraform/image-lock.ts";
import { repoRoot } from "../helpers/cli.ts";
import { ValidatedConfigs } from "../../provider/terraform/validated.ts";

const schemas = resourceSchemas();
const resources = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
const shapeOf = (typeName: string): Shape => ({ type: "object", attributes: schemas.get(typeName)!.attributes });
/** A configuration or state in kind field names, as Terraform would send it (every attribute, null when absent). */
const packed = (typeName: string, value: Record<string, unknown> | null): Packed => (value === null ? null : toPacked(value, shapeOf(typeName)));
const read = (typeName: string, value: Packed) => fromPacked(value, shapeOf(typeName));

describe("the Terraform schema derived from the kinds", () => {
  it("has one resource type per kind", () => {
    expect([...schemas.keys()].sort()).toEqual([
      "virtform_attachment",
      "virtform_cluster",
      "virtform_image",
      "virtform_instance",
      "virtform_snapshot",
      "virtform_storage_pool",
      "virtform_volume",
    ]);
  });

  it.each(Object.keys(kinds) as KindName[])("%s: every input and output, required only where zod requires it", (kind) => {
    const schema = [...schemas.values()].find((s) => s.kind === kind)!;
    const definition = kinds[kind];
    expect(schema.description).toBe(definition.description);
    const byField = new Map(Object.values(schema.attributes).filter((a) => a.side !== "output").map((a) => [a.field, a]));
    for (const [field, zod] of Object.entries(definition.inputs.shape)) {
      const attribute = byField.get(field)!;
      expect(attribute, field).toBeDefined();
      if (kind === "Image" && field === "locked") {
        // Derived from the lock by the provider (lock_key), never written: computed only.
        expect(attribute).toMatchObject({ required: false, optional: false, computed: true });
        continue;
      }
      expect(attribute.required, field).toBe(!zod.safeParse(undefined).success);
      expect(attribute.optional, field).toBe(zod.safeParse(undefined).success);
      expect(attribute.sensitive, field).toBe(definition.secrets.includes(field));
      if (zod.description) expect(attribute.description, field).toBe(zod.description);
    }
    const outputs = Object.values(schema.attributes).filter((a) => a.side === "output" || a.side === "both");
    expect(outputs.map((a) => a.field).sort()).toEqual(Object.keys(definition.outputs.shape).sort());
    for (const attribute of outputs) expect(attribute.computed).toBe(true);
    expect(schema.attributes.id).toMatchObject({ side: "id", computed: true });
  });

  it("merges an output into its input of the same type, and renames one of another type", () => {
    expect(schemas.get("virtform_attachment")!.attributes.device).toMatchObject({ side: "both", optional: true, computed: true });
    expect(schemas.get("virtform_image")!.attributes.variants).toMatchObject({ side: "input", required: true, shape: { type: "dynamic" } });
    expect(schemas.get("virtform_image")!.attributes.variants_output).toMatchObject({ side: "output", computed: true, shape: { type: "map" } });
  });

  it("writes objects a configuration sets as nested attributes, each field with its own flags", () => {
    const message = schemaMessage(schemas.get("virtform_cluster")!.attributes, "") as { block: { attributes: any[] } };
    const hosts = message.block.attributes.find((a) => a.name === "hosts");
    expect(hosts.nested_type.nesting).toBe(1);
    expect(hosts.nested_type.attributes.find((a: any) => a.name === "memory_gib")).toMatchObject({ required: true, description: "Memory per host in GiB" });
    const overcommit = message.block.attributes.find((a) => a.name === "overcommit");
    expect(overcommit).toMatchObject({ optional: true, computed: true });
    expect(overcommit.nested_type.attributes.find((a: any) => a.name === "cpu")).toMatchObject({ optional: true, computed: true });
    const usable = message.block.attributes.find((a) => a.name === "usable");
    expect(JSON.parse(Buffer.from(usable.type).toString())).toEqual(["object", { vcpu: "number", memory_gib: "number", local_disk_gib: "number" }]);
  });
});

describe("the data source virtform_image_variant", () => {
  it("takes the Instance kind's image reference and returns the Image kind's built variant", () => {
    const { attributes } = imageVariantSchema();
    expect(Object.keys(attributes).sort()).toEqual(["build", "digest", "id", "image", "layers", "packages", "size_bytes", "variant"]);
    expect(attributes.image).toMatchObject({ required: true, description: "Id of the image" });
    expect(attributes.variant).toMatchObject({ required: true, description: "Name of the variant" });
    for (const name of ["digest", "packages", "layers", "size_bytes", "build"]) expect(attributes[name]).toMatchObject({ computed: true, required: false, optional: false });
  });
});

describe("plans", () => {
  const volume = { pool: "pool-1", sizeGiB: 10, multiAttach: false, deleteProtection: false };
  const prior = { id: "vol-1", ...volume };

  it("creates with defaults filled, what the backend decides unknown, and a create token", async () => {
    const planned = await resources.plan("virtform_volume", null, packed("virtform_volume", { pool: "pool-1", sizeGiB: 10 }), packed("virtform_volume", { pool: "pool-1", sizeGiB: 10 }));
    expect(planned.planned).toMatchObject({ id: UNKNOWN_EXTENSION, multi_attach: false, delete_protection: false, size_gib: 10 });
    expect(new TextDecoder().decode(planned.private)).toMatch(/^terraform:[0-9a-f-]{36}$/);
    expect(planned.requiresReplace).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, { id: unknown; replace: string[] }]>([
    ["nothing changed", { pool: "pool-1", sizeGiB: 10 }, { id: "vol-1", replace: [] }],
    ["a volume grows in place", { pool: "pool-1", sizeGiB: 20 }, { id: "vol-1", replace: [] }],
    ["another pool replaces it", { pool: "pool-2", sizeGiB: 10 }, { id: UNKNOWN_EXTENSION, replace: ["pool"] }],
    ["a pool known only after apply replaces it", { pool: UNKNOWN, sizeGiB: 10 }, { id: UNKNOWN_EXTENSION, replace: ["pool"] }],
  ])("%s", async (_, config, expected) => {
    const planned = await resources.plan("virtform_volume", packed("virtform_volume", prior), packed("virtform_volume", config), packed("virtform_volume", config));
    expect((planned.planned as Record<string, Packed>).id).toEqual(expected.id);
    expect(planned.requiresReplace).toEqual(expected.replace.map((name) => [{ attribute_name: name }]));
  });

  it.each<[string, Record<string, unknown>, { summary: string; detail: string; steps: unknown[] }[]]>([
    ["a vCPU change restarts it, wiping its local disk", { vcpu: 4 }, [{ summary: "This update restarts the instance", detail: "vcpu changes only on a restart; local disk wiped: 40 GiB", steps: [{ attribute_name: "vcpu" }] }]],
    ["a stop wipes its local disk", { powerState: "stopped" }, [{ summary: "This update stops the instance", detail: "local disk wiped: 40 GiB", steps: [] }]],
    ["a replacement wipes its local disk", { userData: "#cloud-config" }, [{ summary: "This replacement stops the instance", detail: "local disk wiped: 40 GiB", steps: [] }]],
    ["a new placement policy says nothing (it steers later placements)", { placement: { policy: "pack" } }, []],
  ])("warns what the plan text does not show: %s", async (_, change, expected) => {
    const instance = { cluster: "cl-1", group: "app", index: 0, image: { image: "img-1", variant: "a", digest: "sha256:1" }, vcpu: 2, memoryGiB: 4, localDiskGiB: 40 };
    const config = { ...instance, ...change };
    const planned = await resources.plan("virtform_instance", packed("virtform_instance", { id: "i-1", ...instance }), packed("virtform_instance", config), packed("virtform_instance", config));
    expect(planned.diagnostics.map((d) => ({ summary: d.summary, detail: d.detail, steps: d.attribute?.steps ?? [], warning: d.severity === SEVERITY.WARNING }))).toEqual(expected.map((e) => ({ ...e, warning: true })));
  });

  it("keeps a device the backend chose while the configuration leaves it out", async () => {
    const attachment = { id: "att-1", volume: "vol-1", instance: "i-1", mode: "read-write", device: "vdb" };
    const config = { volume: "vol-1", instance: "i-1" };
    const planned = await resources.plan("virtform_attachment", packed("virtform_attachment", attachment), packed("virtform_attachment", config), packed("virtform_attachment", config));
    expect(read("virtform_attachment", planned.planned)).toEqual(attachment);
    expect(planned.requiresReplace).toEqual([]);
  });

  it("keeps a dynamic value as the configuration wrote it (no defaults inside)", async () => {
    const config = { base: "debian-12", variants: { light: { config: { heapMiB: 512 } } } };
    const planned = await resources.plan("virtform_image", null, packed("virtform_image", config), packed("virtform_image", config));
    const attributes = planned.planned as Record<string, Packed>;
    expect(fromPacked(attributes.variants, { type: "dynamic" })).toEqual(config.variants);
    expect(fromPacked(attributes.config, { type: "dynamic" })).toEqual({});
    expect(attributes.packages).toEqual([]);
    expect(attributes.variants_output).toEqual(UNKNOWN_EXTENSION);
  });

  it("reports zod's issues on attribute paths, leaving unknown values to apply time", () => {
    const diagnostics = resources.validate("virtform_cluster", packed("virtform_cluster", { hypervisor: "native", hosts: { count: 0, vcpu: UNKNOWN, memoryGiB: 4, localDiskGiB: 1 } }));
    expect(diagnostics).toEqual([
      {
        severity: 1,
        summary: "Invalid hosts.count",
        detail: "Too small: expected number to be >=1 (the Cluster field hosts.count)",
        attribute: { steps: [{ attribute_name: "hosts" }] }, // Terraform finds a nested attribute's line by its first step
      },
    ]);
  });

  it("refuses a key named __proto__ (a user's name, here) on its attribute path: the kinds' schemas would drop it", () => {
    const config = { base: "debian-12", users: JSON.parse('{"__proto__": {"groups": []}, "app": {"groups": []}}') as Record<string, unknown> };
    expect(resources.validate("virtform_image", packed("virtform_image", config))).toEqual([
      {
        severity: 1,
        summary: 'Invalid users["__proto__"]',
        detail: `the key "__proto__" cannot be used: JavaScript reserves it, and the kinds' schemas would drop it without a word (the Image field users.__proto__)`,
        attribute: { steps: [{ attribute_name: "users" }, { element_key_string: "__proto__" }] },
      },
    ]);
  });

  it("upgrades JSON state to the current schema, dropping attributes it no longer has", () => {
    const upgraded = resources.upgrade("virtform_volume", { id: "vol-1", pool: "pool-1", size_gib: 10, retired_field: true });
    expect(read("virtform_volume", upgraded)).toEqual({ id: "vol-1", pool: "pool-1", sizeGiB: 10 });
    expect(Object.keys(upgraded as object).sort()).toEqual(["delete_protection", "id", "multi_attach", "pool", "size_gib", "source"]);
  });
});

describe("the plan-time feasibility check", () => {
  /** An embedded emulator with one 16-vCPU host and an image, and a provider process planning on it. */
  const oneHost = () => {
    const emulator = Emulator.inMemory();
    const backend = new VirtformProvider(new EmbeddedBackend(emulator));
    const planner = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
    planner.provider = backend;
    const cluster = emulator.create("Cluster", { hypervisor: "native", hosts: { count: 1, vcpu: 16, memoryGiB: 64, localDiskGiB: 100 } }, { name: "cluster.web" });
    const image = emulator.create("Image", { base: "debian-12", variants: { small: {} } }, { name: "image.app" });
    const imageRef = { image: image.id, variant: "small", digest: (image.outputs.variants as Record<string, { digest: string }>).small!.digest };
    return { emulator, backend, planner, cluster, imageRef };
  };

  it("rehearses the plan's changes on a copy of the backend: what would not fit fails the plan, the backend is untouched", async () => {
    const { emulator, planner, cluster, imageRef } = oneHost();
    const member = (index: number) => ({
      cluster: cluster.id,
      group: "app",
      index,
      image: imageRef,
      vcpu: 12,
      memoryGiB: 8,
    });
    const plan = (index: number) => planner.plan("virtform_instance", null, packed("virtform_instance", member(index)), packed("virtform_instance", member(index)));
    expect((await plan(0)).diagnostics).toEqual([]);
    // The second member is planned on the same copy, where the first already runs.
    const [diagnostic] = (await plan(1)).diagnostics;
    expect(diagnostic).toMatchObject({ severity: 1, summary: "This create would fail" });
    expect(diagnostic!.detail).toMatch(/vCPU/);
    expect(emulator.list("Instance")).toEqual([]);

    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }] }, { name: "pool.fast" });
    const volume = emulator.create("Volume", { pool: pool.id, sizeGiB: 50 }, { name: "volume.data" });
    const state = { id: volume.id, ...volume.spec };
    // A new process for the next plan: a copy is taken once per process, before the volume existed.
    const next = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
    next.provider = planner.provider;
    const shrink = await next.plan("virtform_volume", packed("virtform_volume", state), packed("virtform_volume", { ...state, sizeGiB: 10 }), packed("virtform_volume", { pool: pool.id, sizeGiB: 10 }));
    expect(shrink.diagnostics).toMatchObject([{ summary: "This update would fail", detail: expect.stringMatching(/shrink/) }]);
    expect(emulator.get("Volume", volume.id)!.spec.sizeGiB).toBe(50);
  });

  it("plans a swap on a full host with the create's call first: the create waits for the destroy, on the copy and in the apply", async () => {
    const { emulator, backend, planner, cluster, imageRef } = oneHost();
    const member = (group: string) => ({ cluster: cluster.id, group, index: 0, image: imageRef, vcpu: 12, memoryGiB: 8 });
    const old = emulator.create("Instance", member("old"), { name: "instances.old" });
    const oldState = packed("virtform_instance", { id: old.id, ...old.spec });
    const fresh = packed("virtform_instance", member("new"));
    // The plan: the create's call comes first and is refused on the copy; the destroy comes after it.
    const create = planner.plan("virtform_instance", null, fresh, fresh);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const destroy = planner.plan("virtform_instance", oldState, null, null);
    expect((await destroy).diagnostics.map((d) => d.summary)).toEqual([]);
    const planned = await create;
    expect(planned.diagnostics).toEqual([]);
    // The apply, the same order: the backend refuses the create until the destroy is done.
    const applier = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
    applier.provider = backend;
    const made = applier.apply("virtform_instance", null, planned.planned, fresh, planned.private);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await applier.apply("virtform_instance", oldState, null, null, new Uint8Array());
    expect(read("virtform_instance", await made)).toMatchObject({ group: "new" });
    expect(emulator.list("Instance").map((i) => i.spec.group)).toEqual(["new"]);
  });

  it("refuses for good what no destroy makes room for, once every call is waiting", async () => {
    const emulator = Emulator.inMemory();
    const planner = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
    planner.provider = new VirtformProvider(new EmbeddedBackend(emulator));
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }], quota: { volumes: 1 } }, { name: "pool.p" });
    emulator.create("Volume", { pool: pool.id, sizeGiB: 5 }, { name: "volume.there" });
    const volume = { pool: pool.id, sizeGiB: 5 };
    const started = performance.now();
    const planned = await planner.plan("virtform_volume", null, packed("virtform_volume", volume), packed("virtform_volume", volume));
    expect(planned.diagnostics).toMatchObject([{ summary: "This create would fail", detail: expect.stringMatching(/quota of 1 volumes/) }]);
    // It waited for the calls to settle (QUIET_MS), not longer.
    expect(performance.now() - started).toBeGreaterThanOrEqual(QUIET_MS);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("tries a destroy the copy refused again before a waiting create: a volume's destroy planned before its attachment's", async () => {
    const { emulator, planner, cluster, imageRef } = oneHost();
    const instance = emulator.create("Instance", { cluster: cluster.id, group: "app", index: 0, image: imageRef, vcpu: 2, memoryGiB: 2 }, { name: "instances.app" });
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }], quota: { volumes: 1 } }, { name: "pool.p" });
    const old = emulator.create("Volume", { pool: pool.id, sizeGiB: 5 }, { name: "volume.old" });
    const attachment = emulator.create("Attachment", { volume: old.id, instance: instance.id }, { name: "attachment.old" });
    const stateOf = (typeName: string, object: { id: string; spec: Record<string, unknown>; outputs: Record<string, unknown> }) =>
      packed(typeName, { id: object.id, ...object.spec, ...(typeName === "virtform_attachment" ? { device: object.outputs.device } : {}) });
    // The volume's destroy first: refused on the copy (still attached); then the new volume, refused
    // (the pool's quota); then the attachment's destroy, after which both go through.
    const removed = await planner.plan("virtform_volume", stateOf("virtform_volume", old), null, null);
    expect(removed.diagnostics).toEqual([]);
    const fresh = { pool: pool.id, sizeGiB: 5 };
    const create = planner.plan("virtform_volume", null, packed("virtform_volume", fresh), packed("virtform_volume", fresh));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await planner.plan("virtform_attachment", stateOf("virtform_attachment", attachment), null, null);
    expect((await create).diagnostics).toEqual([]);
    // The plan touched nothing.
    expect(emulator.list("Volume").map((v) => v.id)).toEqual([old.id]);
  });

  it("tags an imported object once it is in Terraform's state: not at the import, not in a plan, at the refresh after or its first update", async () => {
    const emulator = Emulator.inMemory();
    const owner = { stack: "terraform:/test", lineage: "terraform" };
    const tf = new TerraformResources(schemas, owner);
    tf.provider = new VirtformProvider(new EmbeddedBackend(emulator));
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }] }, { name: "pool.p" });
    const tags = (id: string) => emulator.get("Volume", id)!.tags;
    const volume = (name: string) => emulator.create("Volume", { pool: pool.id, sizeGiB: 5 }, { name }).id;
    // terraform import (or an import block's plan): the import, then its refresh. Nothing tagged.
    const refreshedId = volume("outside-1");
    const imported = await tf.import("virtform_volume", refreshedId);
    const first = await tf.read("virtform_volume", imported.state, imported.private);
    expect(tags(refreshedId)).toEqual({});
    // The next run's refresh tags it, once.
    const second = await tf.read("virtform_volume", first.state, first.private);
    expect(tags(refreshedId)).toMatchObject({ "virtform:stack": "terraform:/test", "virtform:address": `volume.tf-${refreshedId}` });
    expect(second.private).toEqual(new Uint8Array());
    // Applied while the private data still marks it: an update, and an apply of a spelling-only change.
    for (const [name, sizeGiB] of [["outside-2", 6], ["outside-3", 5]] as const) {
      const id = volume(name);
      const at = await tf.import("virtform_volume", id);
      const config = packed("virtform_volume", { pool: pool.id, sizeGiB, multiAttach: false });
      await tf.apply("virtform_volume", at.state, config, config, at.private);
      expect(tags(id)).toMatchObject({ "virtform:stack": "terraform:/test" });
    }
  });

  it("stops rehearsing once the process applies: the copy no longer matches the backend", async () => {
    const emulator = Emulator.inMemory();
    const applier = new TerraformResources(schemas, { stack: "terraform:/test", lineage: "terraform" });
    applier.provider = new VirtformProvider(new EmbeddedBackend(emulator));
    const small = { media: "ssd", devices: [{ sizeGiB: 10 }], maxVolumeGiB: 1 };
    const large = { media: "ssd", devices: [{ sizeGiB: 100 }] };
    const plan = (config: Record<string, unknown>) => applier.plan("virtform_storage_pool", null, packed("virtform_storage_pool", config), packed("virtform_storage_pool", config));
    await plan(small); // rehearsed first: the copy's first pool id
    const planned = await plan(large);
    // Terraform applies the large pool first: the backend gives it the id the copy gave the small one.
    const pool = read("virtform_storage_pool", await applier.apply("virtform_storage_pool", null, planned.planned, packed("virtform_storage_pool", large), planned.private)) as { id: string };
    const volume = { pool: pool.id, sizeGiB: 50 };
    expect((await applier.plan("virtform_volume", null, packed("virtform_volume", volume), packed("virtform_volume", volume))).diagnostics).toEqual([]);
  });
});

describe("validation by the configuration's bytes", () => {
  it("validates the same type and bytes once, anything else again", () => {
    const validated = new ValidatedConfigs();
    let runs = 0;
    const validate = () => (runs++, [error(`run ${runs}`)]);
    const a = new Uint8Array([0x81, 0xa1, 0x61, 0x01]);
    expect(validated.get("virtform_volume", a, validate)).toEqual([error("run 1")]);
    expect(validated.get("virtform_volume", Uint8Array.from(a), validate)).toEqual([error("run 1")]);
    expect(validated.get("virtform_snapshot", a, validate)).toEqual([error("run 2")]);
    expect(validated.get("virtform_volume", new Uint8Array([0x81, 0xa1, 0x61, 0x02]), validate)).toEqual([error("run 3")]);
    // A view into a larger buffer is keyed by its own bytes only.
    expect(validated.get("virtform_volume", new Uint8Array([9, ...a, 9]).subarray(1, 5), validate)).toEqual([error("run 1")]);
    expect(runs).toBe(3);
  });
});

describe("an image locked by its lock_key", () => {
  const examples = join(repoRoot, "examples", "java-appserver");
  const lock = openImageLock(undefined, examples)!;
  const appserver = {
    base: "debian-12",
    packages: ["openjdk-17-jre-headless", "tomcat10"],
    config: { threadPool: 50 },
    variants: { light: { packages: [], config: { heapMiB: 512, threadPool: 25 } } },
  };
  const at = (...steps: string[]) => steps.map((s, i) => (i === 0 ? { attribute_name: s } : { element_key_string: s }));

  it("finds virtform.lock in the working directory, and none where there is none", () => {
    expect(lock.path).toBe(join(examples, "virtform.lock"));
    expect(openImageLock(undefined, "/nowhere")).toBeUndefined();
    expect(() => openImageLock("missing.lock", "/nowhere")).toThrow("there is no missing.lock (/nowhere/missing.lock); write it with 'virtform images lock'");
  });

  it.each<[string, Parameters<typeof lockImage>, Partial<ReturnType<typeof lockImage>>]>([
    ["no lock_key: unlocked, as before", [lock, undefined, appserver, examples], { locked: undefined, diagnostics: [] }],
    ["an unknown request: known after apply", [lock, "image.appserver", { ...appserver, base: UNKNOWN }, examples], { locked: UNKNOWN, diagnostics: [] }],
    ["no lock", [undefined, "image.appserver", appserver, examples], { locked: undefined, diagnostics: [error("No lockfile", 'lock_key is "image.appserver", but there is no virtform.lock in Terraform\'s working directory and the provider block sets no lockfile', at("lock_key"))] }],
    ["no such entry", [lock, "image.other", appserver, examples], { locked: undefined, diagnostics: [error("No such lock entry", 'virtform.lock has no image "image.other"; it has image.appserver', at("lock_key"))] }],
    ["a fresh variant", [lock, "image.appserver", appserver, examples], { diagnostics: [] }],
    [
      "a changed package set",
      [lock, "image.appserver", { ...appserver, variants: { light: { packages: ["htop"], config: {} } } }, examples],
      { locked: {}, diagnostics: [error("virtform.lock is stale for image.appserver:light", "its packages or base changed since it was locked; the provider resolves no packages. Run 'virtform images lock' on the program the lock was made from, or remove lock_key to plan the requested packages unlocked", at("variants", "light"))] },
    ],
  ])("%s", (_, args, expected) => {
    expect(lockImage(...args)).toMatchObject(expected);
  });

  it("gives a fresh variant the lock's set, and a config-only change the locked packages with a new digest and a warning", () => {
    const entry = lock.lock.images["image.appserver"]!.light!;
    expect(lockImage(lock, "image.appserver", appserver, examples).locked).toEqual({ light: lockedInputs(entry) });
    const changed = lockImage(lock, "image.appserver", { ...appserver, variants: { light: { packages: [], config: { heapMiB: 1024 } } } }, examples);
    const locked = (changed.locked as Record<string, LockedInputs>).light!;
    expect(locked.packages).toEqual(lockedInputs(entry).packages);
    expect(locked.digest).not.toBe(entry.digest);
    expect(changed.diagnostics).toMatchObject([{ severity: SEVERITY.WARNING, summary: "virtform.lock is stale for image.appserver:light" }]);
  });
});
