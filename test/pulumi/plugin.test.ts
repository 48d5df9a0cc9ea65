// The plugin binary driven over gRPC as the Pulumi engine drives it, one process for the whole
// lifecycle: schema, config, check, preview (unknowns, no backend calls), create, retried create,
// replacement with unchanged inputs, diff, update, refresh, import, delete. Results are checked in the emulator's data dir too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IN_USE_LOCK_FILE } from "../../provider/in-use-lock.ts";
import { Emulator } from "../../emulator/emulator.ts";
import { SECRET_SIGNATURE, SIGNATURE_KEY, UNKNOWN_MARKER } from "../../provider/pulumi/property-values.ts";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";
import { alive, firstLines, killQuietly } from "../helpers/processes.ts";
import { connectPlugin, empty, pluginProto, proto, startPlugin, struct, type Message, type Plugin } from "./plugin-client.ts";

const urn = (type: string, name: string) => `urn:pulumi:dev::shop::${type}::${name}`;
const POOL = urn("virtform:storage:StoragePool", "fast");
const VOLUME = urn("virtform:storage:Volume", "data");
const CLUSTER = urn("virtform:compute:Cluster", "web");
const IMAGE = urn("virtform:images:Image", "app");
const INSTANCE = urn("virtform:compute:Instance", "app-0");
const secret = (value: unknown) => ({ [SIGNATURE_KEY]: SECRET_SIGNATURE, value });

let dir: string;
let plugin: Plugin;
const data = () => Emulator.readDataDir(join(dir, "emulator-data"));

function request(type: string, fields: Record<string, unknown>): Message {
  const message = new proto[type]();
  for (const [field, value] of Object.entries(fields)) message[`set${field}`](value);
  return message;
}

async function check(urnOf: string, news: Record<string, unknown>) {
  const reply = await plugin.call("check", request("CheckRequest", { Urn: urnOf, Olds: struct({}), News: struct(news) }));
  return {
    inputs: reply.getInputs().toJavaScript() as Record<string, unknown>,
    failures: reply.getFailuresList().map((f: Message) => ({ property: f.getProperty(), reason: f.getReason() })),
  };
}

async function create(urnOf: string, properties: Record<string, unknown>, preview = false) {
  const reply = await plugin.call("create", request("CreateRequest", { Urn: urnOf, Properties: struct(properties), Preview: preview }));
  return { id: reply.getId() as string, properties: reply.getProperties().toJavaScript() as Record<string, unknown> };
}

async function diff(urnOf: string, olds: Record<string, unknown>, news: Record<string, unknown>, id = "x") {
  const reply = await plugin.call("diff", request("DiffRequest", { Id: id, Urn: urnOf, Olds: struct(olds), OldInputs: struct(olds), News: struct(news) }));
  const detailed: Record<string, number> = {};
  reply.getDetaileddiffMap().forEach((d: Message, path: string) => (detailed[path] = d.getKind()));
  return {
    changes: reply.getChanges(),
    replaces: reply.getReplacesList() as string[],
    stables: reply.getStablesList() as string[],
    deleteBeforeReplace: reply.getDeletebeforereplace() as boolean,
    hasDetailedDiff: reply.getHasdetaileddiff() as boolean,
    detailed,
  };
}

beforeAll(async () => {
  dir = makeWorkdir("virtform-pulumi-plugin-");
  plugin = await startPlugin(dir);
});
afterAll(async () => plugin?.stop());

describe("pulumi-resource-virtform over gRPC", () => {
  const ids: Record<string, string> = {};
  const state: Record<string, Record<string, unknown>> = {};

  it("serves its plugin info and the checked-in schema", async () => {
    const info = await plugin.call("getPluginInfo", empty());
    expect(info.getVersion()).toMatch(/^\d+\.\d+\.\d+/);
    const reply = await plugin.call("getSchema", request("GetSchemaRequest", { Version: 0 }));
    const schema = JSON.parse(reply.getSchema());
    expect(schema.name).toBe("virtform");
    expect(Object.keys(schema.resources)).toContain("virtform:storage:Volume");
  });

  it("checks its config and is configured with the embedded emulator's data dir", async () => {
    const bad = await plugin.call("checkConfig", request("CheckRequest", { Urn: urn("pulumi:providers:virtform", "default"), Olds: struct({}), News: struct({ endpoint: "ftp://x" }) }));
    expect(bad.getFailuresList().map((f: Message) => f.getProperty())).toEqual(["endpoint"]);
    const reply = await plugin.call("configure", request("ConfigureRequest", { Args: struct({ dataDir: "emulator-data" }), Acceptsecrets: true }));
    expect(reply.getAcceptsecrets()).toBe(true);
    expect(reply.getSupportspreview()).toBe(true);
  });

  it("refuses a data dir another process holds, naming the holder", async () => {
    const second = await startPlugin(dir);
    try {
      const configure = second.call("configure", request("ConfigureRequest", { Args: struct({ dataDir: "emulator-data" }) }));
      await expect(configure).rejects.toThrow(/the emulator data in .*emulator-data is in use by .*pulumi-resource-virtform/);
      expect(second.stderr()).toBe("");
    } finally {
      await second.stop();
    }
  });

  it("exits when the Pulumi engine that started it is gone, and frees the data dir it held", async () => {
    const orphanDir = mkdtempSync(join(tmpdir(), "virtform-pulumi-orphan-"));
    let pluginPid: number | undefined;
    // A shell stands in for the engine: it starts the plugin, says its pid, and waits for it.
    const engine = spawn("/bin/sh", ["-c", '"$0" "$1" 127.0.0.1:1 & echo "$!" >&2; wait', process.execPath, join(repoRoot, "bin/pulumi-resource-virtform.mjs")], {
      cwd: orphanDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const [[port], [pid]] = await Promise.all([firstLines(engine.stdout!, 1), firstLines(engine.stderr!, 1)]);
      pluginPid = Number(pid);
      const orphanPort = port!.trim();
      const orphan = connectPlugin(orphanPort);
      await orphan.call("configure", request("ConfigureRequest", { Args: struct({ dataDir: "data" }) }));
      orphan.close();
      expect(existsSync(join(orphanDir, "data", IN_USE_LOCK_FILE))).toBe(true);
      engine.kill("SIGKILL");
      await expect.poll(() => alive(Number(pid)), { timeout: 4000 }).toBe(false);
      expect(existsSync(join(orphanDir, "data", IN_USE_LOCK_FILE))).toBe(false);
    } finally {
      if (pluginPid) killQuietly(pluginPid, "SIGKILL"); // when the test fails, not left running
      rmSync(orphanDir, { recursive: true, force: true });
    }
  });

  it("turns zod's messages into check failures with property paths", async () => {
    const { failures } = await check(VOLUME, { pool: "pool-1", sizeGiB: -1, colour: "red" });
    expect(failures).toEqual([
      { property: "sizeGiB", reason: "sizeGiB: Too small: expected number to be >=1 MiB (1/1024 GiB)" },
      { property: "colour", reason: "colour: unknown field colour" },
    ]);
    const nested = await check(POOL, { media: "ssd", devices: [{ sizeGiB: 0 }] });
    expect(nested.failures.map((f: { property: string }) => f.property)).toEqual(["devices[0].sizeGiB"]);
  });

  it("previews with unknowns: check fills defaults, create answers unknown outputs and touches nothing", async () => {
    const pool = await check(POOL, { media: "ssd", devices: [{ sizeGiB: 100 }] });
    expect(pool.failures).toEqual([]);
    expect(pool.inputs).toEqual({ media: "ssd", devices: [{ sizeGiB: 100 }], overcommit: 1 });
    const volume = await check(VOLUME, { pool: UNKNOWN_MARKER, sizeGiB: 10 });
    expect(volume).toEqual({ inputs: { pool: UNKNOWN_MARKER, sizeGiB: 10, multiAttach: false, deleteProtection: false }, failures: [] });
    const preview = await create(POOL, pool.inputs, true);
    expect(preview.id).toBe("");
    expect(preview.properties.capacityGiB).toBe(UNKNOWN_MARKER);
    const instance = await check(INSTANCE, {
      cluster: UNKNOWN_MARKER,
      group: "app",
      index: 0,
      image: { image: UNKNOWN_MARKER, variant: "heavy", digest: UNKNOWN_MARKER },
      vcpu: 2,
      memoryGiB: 4,
      userData: secret("#cloud-config"),
    });
    expect(instance.failures).toEqual([]);
    const planned = await create(INSTANCE, instance.inputs, true);
    expect(planned.properties).toMatchObject({ userData: secret("#cloud-config"), host: UNKNOWN_MARKER, powerState: "running", localDiskGiB: 0 });
    expect(Object.keys(data().pools)).toEqual([]);
    expect(Object.keys(data().instances)).toEqual([]);
  });

  it("creates through the emulator, and a retried create adopts what the first one made", async () => {
    const pool = await create(POOL, (await check(POOL, { media: "ssd", devices: [{ sizeGiB: 100 }] })).inputs);
    ids.pool = pool.id;
    expect(pool.properties).toMatchObject({ media: "ssd", capacityGiB: 100, provisionableGiB: 100, luns: 1 });
    const inputs = (await check(VOLUME, { pool: pool.id, sizeGiB: 10 })).inputs;
    const first = await create(VOLUME, inputs);
    const again = await create(VOLUME, inputs);
    expect(again.id).toBe(first.id);
    ids.volume = first.id;
    state.volume = inputs;
    const stored = data();
    expect(stored.pools[pool.id]).toMatchObject({ name: "pool.fast", spec: { media: "ssd", devices: [{ sizeGiB: 100 }] } });
    expect(Object.values(stored.volumes).map((v) => [v.name, v.spec.sizeGiB])).toEqual([["volume.data", 10]]);
  });

  it("replaces with unchanged inputs (pulumi up --replace) by a new object, which a retried replacement adopts", async () => {
    const REPLACED = urn("virtform:storage:Volume", "replaced");
    const inputs = (await check(REPLACED, { pool: ids.pool, sizeGiB: 3 })).inputs;
    const old = await create(REPLACED, inputs);
    // Pulumi diffs the resource it holds, finds nothing changed, and replaces it as told: create, then delete the old.
    expect((await diff(REPLACED, inputs, inputs, old.id)).changes).toBe(proto.DiffResponse.DiffChanges.DIFF_NONE);
    const replacement = await create(REPLACED, inputs);
    expect(replacement.id).not.toBe(old.id);
    expect((await create(REPLACED, inputs)).id).toBe(replacement.id);
    await plugin.call("delete", request("DeleteRequest", { Id: old.id, Urn: REPLACED, Properties: struct(old.properties), OldInputs: struct(inputs) }));
    const left = Object.entries(data().volumes).filter(([, v]) => v.name === "volume.replaced");
    expect(left.map(([id, v]) => [id, v.spec.sizeGiB])).toEqual([[replacement.id, 3]]);
    await plugin.call("delete", request("DeleteRequest", { Id: replacement.id, Urn: REPLACED, Properties: struct(replacement.properties), OldInputs: struct(inputs) }));
  });

  it("keeps secrets secret: a kind's secret field and a value the program wrapped", async () => {
    const cluster = await create(CLUSTER, (await check(CLUSTER, { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 100 } })).inputs);
    const image = await create(IMAGE, (await check(IMAGE, { base: "debian-12", variants: { light: {}, heavy: {} } })).inputs);
    const digest = (image.properties.variants as Record<string, { digest: string }>).heavy!.digest;
    const checked = await check(INSTANCE, {
      cluster: cluster.id,
      group: "app",
      index: 0,
      image: { image: image.id, variant: "heavy", digest },
      vcpu: 2,
      memoryGiB: secret(4),
      userData: "#cloud-config\npassword: hunter2",
    });
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.memoryGiB).toEqual(secret(4));
    const instance = await create(INSTANCE, checked.inputs);
    ids.instance = instance.id;
    expect(instance.properties.userData).toEqual(secret("#cloud-config\npassword: hunter2"));
    expect(instance.properties.memoryGiB).toEqual(secret(4));
    expect(instance.properties.host).toEqual(expect.any(String));
    expect(data().instances[instance.id]).toMatchObject({ name: "instances.app-0", spec: { memoryGiB: 4, vcpu: 2 } });
  });

  it("diffs with the engine's planResource: detailed diff, replaces, stables, delete-before-replace", async () => {
    const K = proto.PropertyDiff.Kind;
    const grow = await diff(VOLUME, state.volume!, { ...state.volume, sizeGiB: 20 });
    expect(grow).toMatchObject({ changes: proto.DiffResponse.DiffChanges.DIFF_SOME, replaces: [], hasDetailedDiff: true, detailed: { sizeGiB: K.UPDATE } });
    expect(grow.stables.sort()).toEqual(["deleteProtection", "multiAttach", "pool"]);
    const move = await diff(VOLUME, state.volume!, { ...state.volume, pool: "pool-2" });
    expect(move).toMatchObject({ replaces: ["pool"], deleteBeforeReplace: false, stables: [], detailed: { pool: K.UPDATE_REPLACE } });
    const unknownPool = await diff(VOLUME, state.volume!, { ...state.volume, pool: UNKNOWN_MARKER });
    expect(unknownPool.replaces).toEqual(["pool"]);
    const same = await diff(VOLUME, state.volume!, state.volume!);
    expect(same.changes).toBe(proto.DiffResponse.DiffChanges.DIFF_NONE);
    const attachment = { volume: "vol-1", instance: "vm-1", mode: "read-write", device: "vdb" };
    const redevice = await diff(urn("virtform:storage:Attachment", "a"), attachment, { ...attachment, device: "vdc" });
    expect(redevice).toMatchObject({ replaces: ["device"], deleteBeforeReplace: true });
  });

  it("updates in place, refreshes, imports, and deletes", async () => {
    const news = { ...state.volume, sizeGiB: 20 };
    const updated = await plugin.call("update", request("UpdateRequest", { Id: ids.volume, Urn: VOLUME, Olds: struct(state.volume!), OldInputs: struct(state.volume!), News: struct(news) }));
    expect(updated.getProperties().toJavaScript()).toMatchObject({ sizeGiB: 20 });
    expect(data().volumes[ids.volume!]!.spec.sizeGiB).toBe(20);

    const refreshed = await plugin.call("read", request("ReadRequest", { Id: ids.instance, Urn: INSTANCE, Properties: struct({}), Inputs: struct({ userData: secret("x") }) }));
    expect(refreshed.getId()).toBe(ids.instance);
    expect(refreshed.getInputs().toJavaScript()).toMatchObject({ vcpu: 2, userData: secret("#cloud-config\npassword: hunter2") });
    const imported = await plugin.call("read", request("ReadRequest", { Id: ids.volume, Urn: VOLUME }));
    expect(imported.getInputs().toJavaScript()).toEqual({ pool: ids.pool, sizeGiB: 20, multiAttach: false, deleteProtection: false });
    const gone = await plugin.call("read", request("ReadRequest", { Id: "vol-nope", Urn: VOLUME }));
    expect(gone.getId()).toBe("");

    await plugin.call("delete", request("DeleteRequest", { Id: ids.volume, Urn: VOLUME, Properties: struct(news), OldInputs: struct(news) }));
    expect(data().volumes).toEqual({});
    // Deleting what is already gone succeeds, as Pulumi expects after an out-of-band delete.
    await plugin.call("delete", request("DeleteRequest", { Id: ids.volume, Urn: VOLUME, Properties: struct(news) }));
  });

  it("reports a backend refusal as the call's error, with the emulator's message", async () => {
    const inputs = (await check(VOLUME, { pool: ids.pool, sizeGiB: 10_000 })).inputs;
    const err = await create(urn("virtform:storage:Volume", "huge"), inputs).catch((e: Error) => e);
    expect((err as Error).message).toContain("pool pool.fast cannot provision 10000 GiB for volume volume.huge");
    expect(Object.values(data().volumes).map((v) => v.name)).not.toContain("volume.huge");
    expect(plugin.stderr()).not.toMatch(/at .*\.ts:\d+/);
  });
});
