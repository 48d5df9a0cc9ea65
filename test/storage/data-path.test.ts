// The volume service with real bytes, through the emulator's HTTP API and real NBD clients: pools
// on LUN files, volumes written with qemu-io and read back through another instance's attachment,
// local disks wiped on stop, read-only attachments and exports, snapshots and clones, and an
// emulator restart in between.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveEmulator, type RunningServer } from "../../emulator/http/server.ts";
import { Api, TOKEN, specs } from "../emulator-http/helpers.ts";
import { runNbdClientTests, qemuIo, qemuIoReadOnly, run, tempDir } from "../volumes/helpers.ts";

const MiB = 1024 * 1024;

interface World {
  dataDir: string;
  server: RunningServer;
  api: Api;
  nbdPort: number;
}

async function start(dataDir: string): Promise<World> {
  const server = await serveEmulator({ dataDir, token: TOKEN, port: 0, nbdPort: 0, nbdSecurity: "insecure" });
  return { dataDir, server, api: new Api(server.url, TOKEN), nbdPort: Number(new URL(server.nbdUrl!).port) };
}

async function created(api: Api, path: string, name: string, spec: unknown): Promise<{ id: string; outputs: any; spec: any }> {
  const answer = await api.post(path, { name, spec });
  if (answer.status !== 201) throw new Error(`POST ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function readDevice(w: World, instance: string, device: string, offset: number, length: number) {
  const response = await fetch(`${w.server.url}/v1/instances/${instance}/devices/${device}?offset=${offset}&length=${length}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, body, text: body.toString("utf8") };
}

async function writeDevice(w: World, instance: string, device: string, offset: number, data: Buffer) {
  const response = await fetch(`${w.server.url}/v1/instances/${instance}/devices/${device}?offset=${offset}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  return { status: response.status, text: await response.text() };
}

const filled = (byte: number, length: number) => Buffer.alloc(length, byte);

describe.skipIf(!runNbdClientTests)("volumes with real bytes through HTTP and NBD", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let w: World;
  let ids: { pool: string; volume: string; a: string; b: string; attA: string; attB: string };

  beforeAll(async () => {
    dir = await tempDir("storage");
    w = await start(dir.path);
    const cluster = await created(w.api, "/v1/clusters", "cluster.web", { ...specs.cluster, hosts: { ...specs.cluster.hosts, localDiskGiB: 20 } });
    const image = await created(w.api, "/v1/images", "image.app", specs.image);
    const digest = image.outputs.variants.light.digest as string;
    const pool = await created(w.api, "/v1/pools", "pool.fast", { media: "ssd", devices: [{ sizeGiB: 2 }, { sizeGiB: 2 }], overcommit: 2 });
    const volume = await created(w.api, "/v1/volumes", "volume.shared", { pool: pool.id, sizeGiB: 1, multiAttach: true });
    const a = await created(w.api, "/v1/instances", "instances.web/app[0]", { ...specs.instance(cluster.id, image.id, digest, 0), localDiskGiB: 1 });
    const b = await created(w.api, "/v1/instances", "instances.web/app[1]", { ...specs.instance(cluster.id, image.id, digest, 1), localDiskGiB: 1 });
    const attA = await created(w.api, "/v1/attachments", "attachment.shared@a", { volume: volume.id, instance: a.id, mode: "read-write" });
    const attB = await created(w.api, "/v1/attachments", "attachment.shared@b", { volume: volume.id, instance: b.id, mode: "read-only" });
    ids = { pool: pool.id, volume: volume.id, a: a.id, b: b.id, attA: attA.id, attB: attB.id };
  }, 60_000);

  afterAll(async () => {
    await w?.server.close();
    await dir?.remove();
  });

  it("keeps each pool in LUN files of the declared sizes and shows capacity, allocation, use and the LUN map", async () => {
    const lun0 = join(dir.path, "pools", ids.pool, "lun-0.img");
    expect(statSync(lun0).size).toBe(2 * 1024 * MiB);
    expect(statSync(lun0).blocks * 512).toBeLessThan(MiB); // sparse: nothing written yet
    const pool = await w.api.get(`/v1/pools/${ids.pool}`);
    expect(pool.status).toBe(200);
    expect(pool.body.data).toMatchObject({ capacityBytes: 4 * 1024 * MiB, allocatedBytes: 1024 * MiB, usedBytes: 0 });
    expect(pool.body.data.luns).toEqual([
      { lun: 0, file: "lun-0.img", sizeBytes: 2 * 1024 * MiB, usedBytes: 0 },
      { lun: 1, file: "lun-1.img", sizeBytes: 2 * 1024 * MiB, usedBytes: 0 },
    ]);
    expect(pool.body.data.volumes.map((v: { id: string }) => v.id)).toEqual([ids.volume]);
    // NBD_OPT_LIST names every volume, snapshot and attachment
    const list = await run("nbdinfo", ["--list", "--json", `nbd://127.0.0.1:${w.nbdPort}`]);
    expect(list.code, list.stderr).toBe(0);
    const names = (JSON.parse(list.stdout) as { exports: { "export-name": string }[] }).exports.map((e) => e["export-name"]);
    expect(names).toEqual(expect.arrayContaining([ids.volume, ids.attA, ids.attB]));
  });

  it("serves a qemu-io write through NBD to another instance's read-only attachment, and both instances see each other's writes", async () => {
    const write = await qemuIo(w.nbdPort, ids.volume, "write -P 0xab 0 1M", "flush");
    expect(write.code, write.stderr).toBe(0);
    const seenByB = await readDevice(w, ids.b, "vdb", 0, MiB);
    expect(seenByB.status, seenByB.text).toBe(200);
    expect(seenByB.body.equals(filled(0xab, MiB))).toBe(true);
    // a writes through its read-write attachment; b reads it
    expect((await writeDevice(w, ids.a, "vdb", MiB, filled(0xcd, 64 * 1024))).status).toBe(204);
    const again = await readDevice(w, ids.b, "vdb", MiB, 64 * 1024);
    expect(again.body.equals(filled(0xcd, 64 * 1024))).toBe(true);
    const used = (await w.api.get(`/v1/pools/${ids.pool}`)).body.data.usedBytes;
    expect(used).toBe(2 * MiB); // two chunks written of a 1 GiB volume: thin
  });

  it("refuses writes through a read-only attachment and a read-only export", async () => {
    const refused = await writeDevice(w, ids.b, "vdb", 0, filled(1, 512));
    expect(refused.status).toBe(409);
    expect(refused.text).toContain("read-only");
    const viaAttachment = await qemuIo(w.nbdPort, ids.attB, "write -P 0x11 0 4k");
    expect(viaAttachment.code).not.toBe(0);
    const viaSuffix = await qemuIo(w.nbdPort, `${ids.volume}:ro`, "write -P 0x11 0 4k");
    expect(viaSuffix.code).not.toBe(0);
    const stillThere = await qemuIoReadOnly(w.nbdPort, `${ids.volume}:ro`, "read -P 0xab 0 1M");
    expect(stillThere.code, stillThere.stdout + stillThere.stderr).toBe(0);
    expect(stillThere.stdout).not.toContain("Pattern verification failed");
  });

  it("keeps local disks through a running instance, refuses a stopped one, and zeroes them on stop", async () => {
    expect((await writeDevice(w, ids.a, "vda", 0, filled(0x5a, 8192))).status).toBe(204);
    expect((await readDevice(w, ids.a, "vda", 0, 8192)).body.equals(filled(0x5a, 8192))).toBe(true);
    expect((await w.api.post(`/v1/instances/${ids.a}/actions/stop`)).status).toBe(200);
    const stopped = await readDevice(w, ids.a, "vda", 0, 8192);
    expect(stopped.status).toBe(409);
    expect(stopped.text).toContain("stopped");
    expect((await readDevice(w, ids.a, "vdb", 0, 512)).status).toBe(409);
    expect((await w.api.post(`/v1/instances/${ids.a}/actions/start`)).status).toBe(200);
    const wiped = await readDevice(w, ids.a, "vda", 0, 8192);
    expect(wiped.status).toBe(200);
    expect(wiped.body.equals(Buffer.alloc(8192))).toBe(true);
    // the persistent volume kept its bytes across the stop and start
    expect((await readDevice(w, ids.a, "vdb", 0, MiB)).body.equals(filled(0xab, MiB))).toBe(true);
  });

  it("refuses shrinking and deleting an attached volume, naming the attachments", async () => {
    const shrink = await w.api.put(`/v1/volumes/${ids.volume}`, { spec: { pool: ids.pool, sizeGiB: 0.5, multiAttach: true } });
    expect(shrink.status).toBe(422);
    expect(shrink.body.error.message).toContain("cannot shrink");
    const grow = await w.api.put(`/v1/volumes/${ids.volume}`, { spec: { pool: ids.pool, sizeGiB: 2, multiAttach: true } });
    expect(grow.status).toBe(200);
    const pool = (await w.api.get(`/v1/pools/${ids.pool}`)).body.data;
    expect(pool.volumes.find((v: { id: string }) => v.id === ids.volume).sizeBytes).toBe(2 * 1024 * MiB);
    const info = await run("nbdinfo", ["--size", `nbd://127.0.0.1:${w.nbdPort}/${ids.volume}`]);
    expect(info.stdout.trim()).toBe(String(2 * 1024 * MiB));
    const del = await w.api.del(`/v1/volumes/${ids.volume}`);
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain("vdb of instances.web/app[0]");
    expect(del.body.error.message).toContain("vdb of instances.web/app[1]");
  });

  it("takes copy-on-write snapshots and clones them", async () => {
    const snap = await created(w.api, "/v1/snapshots", "snapshot.before", { volume: ids.volume });
    expect(snap.outputs).toEqual({ pool: ids.pool, sizeGiB: 2 });
    // the volume moves on; the snapshot keeps the moment
    expect((await qemuIo(w.nbdPort, ids.volume, "write -P 0xee 0 1M", "flush")).code).toBe(0);
    const clone = await created(w.api, "/v1/volumes", "volume.copy", { pool: ids.pool, sizeGiB: 3, source: snap.id });
    const fromSnapshot = await qemuIoReadOnly(w.nbdPort, snap.id, "read -P 0xab 0 1M", "read -P 0xcd 1M 64k");
    expect(fromSnapshot.code, fromSnapshot.stderr).toBe(0);
    expect(fromSnapshot.stdout).not.toContain("Pattern verification failed");
    expect((await qemuIo(w.nbdPort, snap.id, "write -P 0x11 0 4k")).code).not.toBe(0);
    const fromClone = await qemuIo(w.nbdPort, clone.id, "read -P 0xab 0 1M", "write -P 0x77 0 4k", "read -P 0x77 0 4k");
    expect(fromClone.code, fromClone.stderr).toBe(0);
    expect(fromClone.stdout).not.toContain("Pattern verification failed");
    const info = await run("nbdinfo", ["--size", `nbd://127.0.0.1:${w.nbdPort}/${clone.id}`]);
    expect(info.stdout.trim()).toBe(String(3 * 1024 * MiB));
    // the clone's write copied one chunk; the snapshot's chunks are still shared
    const data = (await w.api.get(`/v1/pools/${ids.pool}`)).body.data;
    const cloneUsage = data.volumes.find((v: { id: string }) => v.id === clone.id);
    expect(cloneUsage).toMatchObject({ kind: "clone", origin: snap.id, exclusiveBytes: MiB });
    // a clone must be at least its source's size, and from the same pool
    const small = await w.api.post("/v1/volumes", { name: "volume.small", spec: { pool: ids.pool, sizeGiB: 1, source: snap.id } });
    expect(small.status).toBe(422);
    expect(small.body.error.message).toContain("at least as large");
  });

  it("keeps flushed bytes across an emulator restart; detaching and deleting free them", async () => {
    await w.server.close();
    w = await start(dir.path);
    const back = await qemuIoReadOnly(w.nbdPort, `${ids.volume}:ro`, "read -P 0xee 0 1M", "read -P 0xcd 1M 64k");
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).not.toContain("Pattern verification failed");
    expect((await readDevice(w, ids.b, "vdb", MiB, 512)).body.equals(filled(0xcd, 512))).toBe(true);
    // detach (b is stopped first: no waiting), then delete: the volume's file space is released
    expect((await w.api.post(`/v1/instances/${ids.b}/actions/stop`)).status).toBe(200);
    expect((await w.api.del(`/v1/attachments/${ids.attB}`)).status).toBe(204);
    expect((await w.api.del(`/v1/attachments/${ids.attA}`)).status).toBe(204);
    const events = (await w.api.get("/v1/events")).body.items.map((e: { type: string; id: string }) => `${e.type} ${e.id}`);
    expect(events).toContain(`attachment.detaching ${ids.attA}`); // a was running
    expect(events).not.toContain(`attachment.detaching ${ids.attB}`); // b was stopped: straight to detached
    expect(events).toContain(`attachment.detached ${ids.attB}`);
    expect((await w.api.del(`/v1/volumes/${ids.volume}`)).status).toBe(204);
    const data = (await w.api.get(`/v1/pools/${ids.pool}`)).body.data;
    expect(data.volumes.map((v: { id: string }) => v.id)).not.toContain(ids.volume);
    expect((await run("nbdinfo", [`nbd://127.0.0.1:${w.nbdPort}/${ids.volume}`])).code).not.toBe(0);
    // terminating an instance deletes its local disk
    expect((await w.api.del(`/v1/instances/${ids.a}`)).status).toBe(204);
    const localPools = join(dir.path, "local");
    expect(existsSync(localPools)).toBe(true);
  }, 60_000);
});
