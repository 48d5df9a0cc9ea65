// The Java application-server example as a Terraform configuration (examples/terraform), driven by the
// real terraform binary through its whole life on a served emulator: plan, apply, no-op plan, a volume
// grown in place, instances replaced for another image variant, drift made through the emulator API,
// import (import blocks and `terraform import`), destroy. Each step checks the emulator's objects.
// About a dozen terraform runs (1-2 s each), hence the integration suite.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";
import { TOKEN, serve, type Served } from "../emulator-http/helpers.ts";
import { PROVIDER_BLOCK, terraform, terraformAvailable, terraformWorkdir } from "../terraform/terraform.ts";

const available = terraformAvailable();

describe.skipIf(!available)("the example through terraform, on a served emulator", () => {
  let served: Served;
  let dir: string;
  const run = (...args: string[]) => terraform(dir, args, { VIRTFORM_ENDPOINT: served.url, VIRTFORM_TOKEN: TOKEN });
  const items = async (collection: string) => (await served.api.call("GET", `/v1/${collection}`)).body.items as { id: string; name: string; spec: Record<string, any>; outputs: Record<string, any>; tags?: Record<string, string> }[];
  const edit = (from: string, to: string) => {
    const file = join(dir, "main.tf");
    const text = readFileSync(file, "utf8");
    expect(text).toContain(from);
    writeFileSync(file, text.replace(from, to));
  };
  /** Terraform's state: resource address -> its attribute values. */
  const state = async (): Promise<Record<string, Record<string, any>>> => {
    const shown = await run("show", "-json");
    expect(shown.code).toBe(0);
    const resources = (JSON.parse(shown.stdout).values?.root_module?.resources ?? []) as { address: string; values: Record<string, any> }[];
    return Object.fromEntries(resources.map((r) => [r.address, r.values]));
  };

  beforeAll(async () => {
    served = await serve();
    dir = terraformWorkdir(undefined, join(repoRoot, "examples", "terraform"));
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("plans the example on an empty emulator without touching it", async () => {
    const planned = await run("plan", "-detailed-exitcode");
    expect(planned.stderr).toBe("");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("Plan: 21 to add, 0 to change, 0 to destroy.");
    expect(planned.stdout).toMatch(/\+ variants_output\s+= \(known after apply\)/);
    for (const collection of ["pools", "images", "clusters", "instances", "volumes", "attachments"]) expect(await items(collection)).toEqual([]);
  });

  it("applies it: the emulator holds the example's objects, tagged with their owner", async () => {
    const applied = await run("apply", "-auto-approve");
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain("Apply complete! Resources: 21 added, 0 changed, 0 destroyed.");
    const instances = await items("instances");
    expect(instances.map((i) => `${i.spec.group}[${i.spec.index}] ${i.spec.image.variant} ${i.outputs.state}`).sort()).toEqual([
      "backoffice[0] light running",
      "backoffice[1] light running",
      "storefront[0] heavy running",
      "storefront[1] heavy running",
      "storefront[2] heavy running",
    ]);
    // Anti-affinity: one storefront per host.
    expect(new Set(instances.filter((i) => i.spec.group === "storefront").map((i) => i.outputs.host)).size).toBe(3);
    expect((await items("volumes")).map((v) => v.spec.sizeGiB).sort()).toEqual([100, 200, 500]);
    const attachments = await items("attachments");
    expect(attachments).toHaveLength(10);
    expect(attachments.filter((a) => a.spec.mode === "read-only")).toHaveLength(2);
    const [image] = await items("images");
    expect(Object.keys(image!.spec.variants).sort()).toEqual(["heavy", "light", "moderate"]);
    expect(image!.spec.variants.light).toEqual({ packages: [], config: { heapMiB: 512, threadPool: 25 } });
    const [cluster] = await items("clusters");
    expect(cluster!.spec).toMatchObject({ hypervisor: "native", overcommit: { cpu: 2, memory: 1 }, placement: "spread" });
    for (const object of [...instances, ...attachments, cluster!]) expect(object.tags).toMatchObject({ "virtform:stack": `terraform:${dir}` });
    expect((await state())["virtform_volume.shared_data"]!.id).toBe((await items("volumes")).find((v) => v.spec.sizeGiB === 200)!.id);
  });

  it("plans no changes when nothing changed", async () => {
    const planned = await run("plan", "-detailed-exitcode");
    expect(planned.stdout).toContain("No changes. Your infrastructure matches the configuration.");
    expect(planned.code).toBe(0);
  });

  it("grows a volume in place", async () => {
    const before = (await state())["virtform_volume.shared_data"]!.id as string;
    edit("size_gib     = 200", "size_gib     = 250");
    const applied = await run("apply", "-auto-approve");
    expect(applied.stdout).toMatch(/virtform_volume.shared_data will be updated in-place[\s\S]*~ size_gib\s+= 200 -> 250/);
    expect(applied.stdout).toContain("Resources: 0 added, 1 changed, 0 destroyed.");
    const volume = (await items("volumes")).find((v) => v.id === before);
    expect(volume?.spec.sizeGiB).toBe(250);
  });

  it("replaces the instances whose image variant changes, and their attachments", async () => {
    const before = await state();
    const oldIds = [0, 1, 2].map((i) => before[`virtform_instance.storefront[${i}]`]!.id as string);
    edit('variant = "heavy"\n    digest  = virtform_image.appserver.variants_output["heavy"].digest', 'variant = "moderate"\n    digest  = virtform_image.appserver.variants_output["moderate"].digest');
    const applied = await run("apply", "-auto-approve");
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/virtform_instance.storefront\[0\] must be replaced[\s\S]*~ variant = "heavy" -> "moderate"/);
    expect(applied.stdout).toMatch(/# forces replacement/);
    expect(applied.stdout).toContain("Resources: 9 added, 0 changed, 9 destroyed.");
    const instances = await items("instances");
    const storefront = instances.filter((i) => i.spec.group === "storefront");
    expect(storefront.map((i) => i.spec.image.variant)).toEqual(["moderate", "moderate", "moderate"]);
    expect(storefront.some((i) => oldIds.includes(i.id))).toBe(false);
    const attachedTo = new Set((await items("attachments")).map((a) => a.spec.instance));
    for (const instance of storefront) expect(attachedTo.has(instance.id)).toBe(true);
  });

  it("shows drift made through the emulator API, and corrects it", async () => {
    const id = (await state())["virtform_instance.backoffice[0]"]!.id as string;
    const stopped = await served.api.call("POST", `/v1/instances/${id}/actions/stop`);
    expect(stopped.status).toBe(200);
    const planned = await run("plan", "-detailed-exitcode");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(/virtform_instance.backoffice\[0\] will be updated in-place[\s\S]*~ power_state\s+= "stopped" -> "running"/);
    expect(planned.stdout).toContain("Plan: 0 to add, 1 to change, 0 to destroy.");
    await run("apply", "-auto-approve");
    const instance = (await items("instances")).find((i) => i.id === id);
    expect(instance?.spec.powerState).toBe("running");
    expect(instance?.outputs.state).toBe("running");
    // An attachment deleted and a volume's protection set out of band: made again, and set back.
    const [attachment] = await items("attachments");
    const volume = (await items("volumes")).find((v) => v.id === attachment!.spec.volume)!;
    expect((await served.api.call("DELETE", `/v1/attachments/${attachment!.id}`)).status).toBeLessThan(300);
    expect((await served.api.call("PUT", `/v1/volumes/${volume.id}`, { spec: { ...volume.spec, deleteProtection: true } })).status).toBe(200);
    const drifted = await run("plan", "-detailed-exitcode");
    expect(drifted.code).toBe(2);
    expect(drifted.stdout).toMatch(/~ delete_protection\s+= true -> false/);
    expect(drifted.stdout).toContain("Plan: 1 to add, 1 to change, 0 to destroy.");
    await run("apply", "-auto-approve");
    expect((await items("attachments")).filter((a) => a.spec.volume === volume.id && a.spec.instance === attachment!.spec.instance)).toHaveLength(1);
    expect((await items("volumes")).find((v) => v.id === volume.id)!.spec.deleteProtection).toBe(false);
  });

  it("imports objects made outside Terraform, with import blocks and with terraform import", async () => {
    const pool = (await state())["virtform_storage_pool.fast"]!.id as string;
    const make = async (sizeGiB: number) => (await served.api.call("POST", "/v1/volumes", { name: `outside-${sizeGiB}`, spec: { pool, sizeGiB } })).body.id as string;
    const byBlock = await make(5);
    const byCommand = await make(6);
    // The backend fills in a variant's defaults (config, packages); the configuration leaves them out.
    const image = (await served.api.call("POST", "/v1/images", { name: "outside-image", spec: { base: "debian-12", variants: { a: {} } } })).body.id as string;
    const tagsOf = async () => Object.fromEntries([...(await items("volumes")), ...(await items("images"))].map((o) => [o.id, o.tags]));
    const tagsBefore = await tagsOf();
    const events = async () => (await served.api.call("GET", "/v1/events")).body.items as { type: string; id: string }[];
    const eventsBefore = (await events()).length;
    appendFileSync(
      join(dir, "main.tf"),
      `
import {
  to = virtform_volume.by_block
  id = "${byBlock}"
}
resource "virtform_volume" "by_block" {
  pool     = virtform_storage_pool.fast.id
  size_gib = 5
}
resource "virtform_volume" "by_command" {
  pool     = virtform_storage_pool.fast.id
  size_gib = 6
}
import {
  to = virtform_image.outside
  id = "${image}"
}
resource "virtform_image" "outside" {
  base     = "debian-12"
  variants = { a = {} }
}
`,
    );
    // A plan changes nothing, an import block's object included (its tags too), and the image as
    // imported matches its configuration.
    const planned = await run("plan");
    expect(planned.stdout).toContain("Plan: 2 to import, 1 to add, 0 to change, 0 to destroy.");
    expect(await tagsOf()).toEqual(tagsBefore);
    const imported = await run("import", "virtform_volume.by_command", byCommand);
    expect(imported.stdout).toContain("Import successful!");
    const applied = await run("apply", "-auto-approve");
    expect(applied.stdout).toContain("Resources: 2 imported, 0 added, 0 changed, 0 destroyed.");
    const after = await state();
    expect([after["virtform_volume.by_block"]!.id, after["virtform_volume.by_command"]!.id, after["virtform_image.outside"]!.id]).toEqual([byBlock, byCommand, image]);
    expect(after["virtform_volume.by_command"]).toMatchObject({ pool, size_gib: 6, multi_attach: false, delete_protection: false });
    // All three match their configuration: nothing to do, and the objects are as they were.
    expect((await run("plan", "-detailed-exitcode")).code).toBe(0);
    const volumes = await items("volumes");
    expect(volumes.filter((v) => [byBlock, byCommand].includes(v.id)).map((v) => [v.name, v.spec.sizeGiB])).toEqual([
      ["outside-5", 5],
      ["outside-6", 6],
    ]);
    // Nothing was updated to get there (a plan of the image's spelling once applied an update).
    expect((await events()).slice(eventsBefore).filter((e) => e.type.endsWith(".updated"))).toEqual([]);
    // Owned by this working directory once in its state (tagged by the refresh after the import), as a
    // native import tags what it adopts.
    const owned = await tagsOf();
    for (const [id, prefix] of [[byBlock, "volume"], [byCommand, "volume"], [image, "image"]] as const) {
      expect(owned[id]).toEqual({ "virtform:stack": `terraform:${dir}`, "virtform:lineage": "terraform", "virtform:address": `${prefix}.tf-${id}` });
    }
  });

  it("fails the plan of a scale-out that cannot be placed, before anything changes", async () => {
    const before = (await items("instances")).map((i) => i.id).sort();
    edit("count   = 3", "count   = 5");
    const planned = await run("plan");
    expect(planned.code).toBe(1);
    const text = planned.stderr.replace(/\s+/g, " ");
    // Four hosts, one storefront per host: of the two new members, the one planned second is refused.
    expect(text).toMatch(/Error: This create would fail with virtform_instance\.storefront\[[34]\], on main\.tf line \d+/);
    expect(text).toMatch(/anti-affinity/i);
    expect((await items("instances")).map((i) => i.id).sort()).toEqual(before);
    edit("count   = 5", "count   = 3");
  });

  it("destroys everything it manages", async () => {
    const destroyed = await run("destroy", "-auto-approve");
    expect(destroyed.stderr).toBe("");
    expect(destroyed.stdout).toContain("Destroy complete! Resources: 24 destroyed.");
    for (const collection of ["pools", "images", "clusters", "instances", "volumes", "attachments"]) expect(await items(collection)).toEqual([]);
  });

  it("says once, on the provider, that the emulator refuses its token or cannot be reached; an endpoint known only after apply plans without one", async () => {
    const config = (provider: string) =>
      terraformWorkdir(`${PROVIDER_BLOCK}
provider "virtform" {
${provider}
}
resource "terraform_data" "where" {
  input = "${served.url}"
}
resource "virtform_storage_pool" "a" {
  media   = "ssd"
  devices = [{ size_gib = 10 }]
}
resource "virtform_storage_pool" "b" {
  media   = "ssd"
  devices = [{ size_gib = 10 }]
}
`);
    const plan = async (provider: string) => {
      const at = config(provider);
      const planned = await terraform(at, ["plan"], { VIRTFORM_ENDPOINT: "", VIRTFORM_TOKEN: "" });
      return { at, code: planned.code, out: planned.stdout, err: planned.stderr.replace(/\s+/g, " ") };
    };
    const refused = await plan(`  endpoint = "${served.url}"\n  token = "wrong"`);
    expect(refused.code).toBe(1);
    expect(refused.err.match(/Error: /g)).toHaveLength(1);
    expect(refused.err).toContain("Error: Cannot use the virtform emulator");
    expect(refused.err).toContain("(check the provider block's token)");
    const unreachable = await plan(`  endpoint = "http://127.0.0.1:9"\n  token = "x"`);
    expect(unreachable.err.match(/Error: /g)).toHaveLength(1);
    expect(unreachable.err).toContain("cannot reach the emulator at http://127.0.0.1:9");
    // Known only after apply: planned without reading or rehearsing anything, and no embedded emulator made.
    const deferred = await plan(`  endpoint = terraform_data.where.output\n  token = "${TOKEN}"`);
    expect(deferred.err).toBe("");
    expect(deferred.code).toBe(0);
    expect(deferred.out).toContain("Plan: 3 to add, 0 to change, 0 to destroy.");
    expect(existsSync(join(deferred.at, ".virtform"))).toBe(false);
  });
});
