// The emulator's REST API through real HTTP on loopback: auth, CRUD and list shapes, error bodies,
// idempotency, events, actions, rehearsals, the OpenAPI document, and HttpBackend over the same API.
import { Emulator } from "../../emulator/emulator.ts";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNotFound } from "../../provider/backend.ts";
import { HttpBackend, HttpBackendError } from "../../provider/http-backend.ts";
import { serveEmulator } from "../../emulator/http/server.ts";
import { Api, COLLECTION_NAMES, TOKEN, populate, serve, snapshot, specs, type Served } from "./helpers.ts";

let server: Served;
beforeEach(async () => {
  server = await serve();
});
afterEach(async () => {
  await server.stop();
});

describe("auth", () => {
  it("refuses requests without a token or with a wrong one, and changes nothing", async () => {
    const before = await snapshot(server.api);
    const eventsBefore = (await server.api.get("/v1/events")).body.items.length;
    for (const api of [server.api.withToken(undefined), server.api.withToken("wrong"), server.api.withToken(TOKEN + "x"), server.api.withToken(TOKEN.slice(0, -1))]) {
      for (const [method, path, body] of [
        ["GET", "/v1/clusters", undefined],
        ["POST", "/v1/clusters", { name: "c", spec: specs.cluster }],
        ["POST", "/v1/rehearsals", undefined],
        ["GET", "/v1/openapi.json", undefined],
        ["DELETE", "/v1/clusters/cl-000001", undefined],
        ["GET", "/v1/no-such-route", undefined],
      ] as const) {
        const answer = await api.call(method, path, body);
        expect(answer.status, `${method} ${path}`).toBe(401);
        expect(answer.body).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("bearer token") } });
        expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
    }
    // other schemes and malformed headers are refused too
    for (const authorization of [`Basic ${TOKEN}`, TOKEN, `Bearer`, `Bearer ${TOKEN} extra`]) {
      const answer = await server.api.withToken(undefined).call("POST", "/v1/clusters", { name: "c", spec: specs.cluster }, { authorization });
      expect(answer.status, authorization).toBe(401);
    }
    expect(await snapshot(server.api)).toEqual(before);
    expect((await server.api.get("/v1/events")).body.items.length).toBe(eventsBefore);
  });

  it("accepts the right token (scheme case-insensitive) and creates", async () => {
    const answer = await server.api
      .withToken(undefined)
      .call("POST", "/v1/clusters", { name: "cluster.web", spec: specs.cluster }, { authorization: `bearer ${TOKEN}` });
    expect(answer.status).toBe(201);
    expect((await server.api.get("/v1/clusters")).body.items).toHaveLength(1);
  });
});

describe("objects", () => {
  it("creates, reads, lists, updates and deletes every kind with the documented shapes", async () => {
    const made = await populate(server.api);
    for (const c of COLLECTION_NAMES) {
      const list = await server.api.get(`/v1/${c}`);
      expect(list.status).toBe(200);
      expect(Object.keys(list.body)).toEqual(["items"]);
      expect(list.body.items).toHaveLength(1);
      expect(Object.keys(list.body.items[0]).sort()).toEqual(["id", "name", "outputs", "spec", "tags"]);
    }
    const got = await server.api.get(`/v1/volumes/${made.volume.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ id: made.volume.id, name: "volume.data", spec: { pool: made.pool.id, sizeGiB: 10, multiAttach: false, deleteProtection: false }, outputs: made.volume.outputs, tags: {} });
    expect(made.instance.outputs).toEqual({ host: expect.any(String), state: "running" });
    expect(made.attachment.outputs).toEqual({ device: "vdb" });

    const grown = await server.api.put(`/v1/volumes/${made.volume.id}`, { spec: { ...got.body.spec, sizeGiB: 20 } });
    expect(grown.status).toBe(200);
    expect(grown.body.spec.sizeGiB).toBe(20);
    expect((await server.api.get(`/v1/volumes/${made.volume.id}`)).body.spec.sizeGiB).toBe(20);

    // resizing an instance needs restart: true
    const resize = { ...made.instance.spec, vcpu: 4 };
    const refused = await server.api.put(`/v1/instances/${made.instance.id}`, { spec: resize });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toEqual({ code: "invalid", message: expect.stringContaining("needs a restart") });
    const resized = await server.api.put(`/v1/instances/${made.instance.id}`, { spec: resize, restart: true });
    expect(resized.status).toBe(200);
    expect(resized.body.spec.vcpu).toBe(4);

    expect((await server.api.del(`/v1/attachments/${made.attachment.id}`)).status).toBe(204);
    expect((await server.api.del(`/v1/volumes/${made.volume.id}`)).status).toBe(204);
    expect((await server.api.get(`/v1/volumes/${made.volume.id}`)).status).toBe(404);
    expect((await server.api.get("/v1/volumes")).body.items).toEqual([]);
  });

  it("answers 404, 409 and 422 with an error body", async () => {
    const made = await populate(server.api);
    const missing = await server.api.get("/v1/instances/i-ffffff");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: "not-found", message: expect.stringContaining("i-ffffff") } });
    expect((await server.api.del("/v1/pools/nope")).status).toBe(404);
    expect((await server.api.put("/v1/pools/nope", { spec: specs.pool })).body.error.code).toBe("not-found");
    expect((await server.api.get("/v1/nothing-here")).body.error.code).toBe("not-found");

    // a second attachment of a volume that is not multi-attach
    const second = await server.api.post("/v1/instances", { name: "instances.web/app[1]", spec: specs.instance(made.cluster.id, made.image.id, made.digest, 1) });
    expect(second.status).toBe(201);
    const conflict = await server.api.post("/v1/attachments", { name: "attachment.again", spec: { volume: made.volume.id, instance: second.body.id } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({ error: { code: "conflict", message: expect.stringContaining("not multi-attach") } });

    // capacity: 409 with its own code
    const huge = await server.api.post("/v1/instances", {
      name: "instances.web/huge[0]",
      spec: { ...specs.instance(made.cluster.id, made.image.id, made.digest, 0), group: "huge", vcpu: 512, memoryGiB: 4000 },
    });
    expect(huge.status).toBe(409);
    expect(huge.body.error.code).toBe("capacity");
    expect(huge.body.error.message).toMatch(/no host of cluster/);

    const invalid = await server.api.post("/v1/volumes", { name: "volume.bad", spec: { pool: made.pool.id, sizeGiB: -1 } });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toEqual({ error: { code: "invalid", message: expect.stringContaining("spec.sizeGiB") } });
    const extra = await server.api.post("/v1/volumes", { name: "volume.bad", spec: specs.volume(made.pool.id), colour: "red" });
    expect(extra.status).toBe(422);
    expect((await server.api.post("/v1/volumes", { spec: specs.volume(made.pool.id) })).body.error.message).toContain("name");
    expect((await server.api.put(`/v1/volumes/${made.volume.id}`, { spec: made.volume.spec, restart: "yes" })).status).toBe(422);

    const malformed = await server.api.post("/v1/volumes", '{"name": "x", ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("malformed");
    // bodies are JSON: text, or a content type nobody parses, is refused before any handler
    const text = await server.api.call("POST", "/v1/volumes", "hello", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(text.body.error).toEqual({ code: "unsupported-media-type", message: expect.stringContaining("application/json") });
    const xml = await server.api.call("POST", "/v1/volumes", "<volume/>", { "content-type": "application/xml" });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe("unsupported-media-type");
    expect((await server.api.get("/v1/volumes")).body.items).toHaveLength(1);
  });

  it("refuses names outside the DSL's alphabet, numbers that are not decimal digits, and text bodies", async () => {
    const made = await populate(server.api);
    for (const name of ["pool.bad\u0000name", "pool.two\nlines", "pool.\u202eevil", "pool.lone\ud800", "Pool.Upper", "pool.a b", "", "pool." + "a".repeat(300)]) {
      const answer = await server.api.post("/v1/pools", { name, spec: specs.pool });
      expect(answer.status, JSON.stringify(name)).toBe(422);
      expect(answer.body.error.message).toMatch(/^invalid StoragePool create request: name: /);
    }
    for (const name of ["pool.fast", "instances.web/app[12]", "attachment.data@web/app[0]", "attachment.shared@a", "web"]) {
      expect((await server.api.post("/v1/pools", { name, spec: specs.pool })).status, name).toBe(201);
    }
    const device = `/v1/instances/${made.instance.id}/devices/vda`;
    const read = await fetch(`${server.url}${device}?offset=0&length=16`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([read.status, (await read.arrayBuffer()).byteLength]).toEqual([200, 16]);
    for (const query of ["offset=0x10", "offset=", "offset=1e3", "offset=-1", "offset=%2016", "length=0x10", "offset=1&offset=2"]) {
      const answer = await server.api.get(`${device}?${query}`);
      expect(answer.status, query).toBe(422);
      expect(answer.body.error.message, query).toMatch(/^(offset|length): /);
    }
    for (const query of ["since=0x10", "since=", "since=1.5"]) expect((await server.api.get(`/v1/events?${query}`)).status, query).toBe(422);
    const write = await server.api.call("PUT", `${device}?offset=0x10`, "abc", { "content-type": "application/octet-stream" });
    expect(write.status).toBe(422);
    const text = await server.api.call("PUT", device, "abc", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
  });

  it("returns the same object for a retried create with the same Idempotency-Key", async () => {
    const body = { name: "cluster.web", spec: specs.cluster };
    const first = await server.api.post("/v1/clusters", body, { "idempotency-key": "run-1/cluster.web" });
    const again = await server.api.post("/v1/clusters", body, { "idempotency-key": "run-1/cluster.web" });
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const other = await server.api.post("/v1/clusters", body, { "idempotency-key": "run-2/cluster.web" });
    expect(other.body.id).not.toBe(first.body.id);
    expect((await server.api.get("/v1/clusters")).body.items.map((c: { id: string }) => c.id).sort()).toEqual([first.body.id, other.body.id].sort());
    expect((await server.api.post("/v1/clusters", body, { "idempotency-key": "k".repeat(300) })).status).toBe(422);
    // the same key on another kind is another create, not the cluster (found by the fuzz test)
    const pool = await server.api.post("/v1/pools", { name: "pool.fast", spec: specs.pool }, { "idempotency-key": "run-1/cluster.web" });
    expect(pool.status).toBe(201);
    expect(pool.body.outputs).toHaveProperty("capacityGiB", 100);
  });

  it("persists to the data dir as each request completes", async () => {
    const made = await populate(server.api);
    const onDisk = Emulator.readDataDir(server.dataDir);
    expect(Object.keys(onDisk.instances)).toEqual([made.instance.id]);
    expect(onDisk.attachments[made.attachment.id]!.device).toBe("vdb");
  });
});

describe("restart", () => {
  it("a server started again on the same data dir has every object and event", async () => {
    await populate(server.api);
    const before = await snapshot(server.api);
    const events = (await server.api.get("/v1/events")).body.items;
    await server.close();
    const again = await serveEmulator({ dataDir: server.dataDir, token: TOKEN, port: 0 });
    try {
      const api = new Api(again.url, TOKEN);
      expect(await snapshot(api)).toEqual(before);
      expect((await api.get("/v1/events")).body.items).toEqual(events);
    } finally {
      await again.close();
    }
    rmSync(server.dataDir, { recursive: true, force: true });
    server = await serve(); // afterEach stops this one
  });
});

describe("events", () => {
  it("lists every change in order, and only the later ones with since", async () => {
    const made = await populate(server.api);
    await server.api.del(`/v1/attachments/${made.attachment.id}`);
    const all = (await server.api.get("/v1/events")).body.items as { seq: number; type: string; id: string }[];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const created = all.filter((e) => e.type.endsWith(".created")).map((e) => e.type);
    expect(created).toEqual(["cluster.created", "image.created", "storagepool.created", "volume.created", "snapshot.created", "instance.created", "attachment.created"]);
    expect(all.at(-1)).toMatchObject({ type: "attachment.deleted", id: made.attachment.id });

    const later = (await server.api.get(`/v1/events?since=${all.length - 2}`)).body.items;
    expect(later).toEqual(all.slice(-2));
    expect((await server.api.get(`/v1/events?since=${all.length}`)).body.items).toEqual([]);
    for (const bad of ["-1", "x", "1.5"]) {
      const answer = await server.api.get(`/v1/events?since=${bad}`);
      expect(answer.status, bad).toBe(422);
      expect(answer.body.error.code).toBe("invalid");
    }
  });
});

describe("instance actions", () => {
  it("stops and starts an instance, and refuses unknown actions", async () => {
    const made = await populate(server.api);
    const stopped = await server.api.post(`/v1/instances/${made.instance.id}/actions/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.outputs.state).toBe("stopped");
    expect(stopped.body.spec.powerState).toBe("stopped");
    const started = await server.api.post(`/v1/instances/${made.instance.id}/actions/start`);
    expect(started.body.outputs.state).toBe("running");
    const types = (await server.api.get("/v1/events")).body.items.map((e: { type: string }) => e.type);
    expect(types.slice(-3)).toEqual(["instance.stopped", "instance.local-disk-wiped", "instance.started"]);
    expect((await server.api.post(`/v1/instances/${made.instance.id}/actions/explode`)).status).toBe(404);
    expect((await server.api.post("/v1/instances/i-ffffff/actions/start")).status).toBe(404);
  });
});

describe("rehearsals", () => {
  it("tries changes on a copy that the real emulator never sees, then discards it", async () => {
    const made = await populate(server.api);
    const created = await server.api.post("/v1/rehearsals");
    expect(created.status).toBe(201);
    const base = `/v1/rehearsals/${created.body.id}`;
    expect((await server.api.get(`${base}/volumes`)).body.items).toHaveLength(1);
    expect((await server.api.del(`${base}/attachments/${made.attachment.id}`)).status).toBe(204);
    expect((await server.api.del(`${base}/volumes/${made.volume.id}`)).status).toBe(204);
    expect((await server.api.post(`${base}/volumes`, { name: "volume.new", spec: specs.volume(made.pool.id) })).status).toBe(201);
    expect((await server.api.get(`${base}/volumes`)).body.items.map((v: { name: string }) => v.name)).toEqual(["volume.new"]);
    expect((await server.api.get("/v1/volumes")).body.items.map((v: { name: string }) => v.name)).toEqual(["volume.data"]);

    expect((await server.api.del(base)).status).toBe(204);
    expect((await server.api.get(`${base}/volumes`)).body.error.code).toBe("not-found");
    expect((await server.api.del(base)).status).toBe(404);
  });
});

describe("openapi", () => {
  it("is a JSON OpenAPI 3.1 document listing every path, with the kinds' schemas", async () => {
    const answer = await fetch(`${server.url}/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/application\/json/);
    const document = JSON.parse(await answer.text());
    expect(document.openapi).toBe("3.1.0");
    for (const c of COLLECTION_NAMES) {
      expect(Object.keys(document.paths[`/v1/${c}`]).sort()).toEqual(["get", "post"]);
      expect(Object.keys(document.paths[`/v1/${c}/{id}`]).sort()).toEqual(["delete", "get", "parameters", "put"]);
    }
    for (const p of ["/v1/events", "/v1/rehearsals", "/v1/rehearsals/{rid}", "/v1/instances/{id}/actions/{action}", "/v1/inspect"]) expect(document.paths).toHaveProperty([p]);
    const volumeSpec = document.components.schemas.VolumeSpec;
    expect(volumeSpec.required).toEqual(["pool", "sizeGiB"]);
    expect(volumeSpec.additionalProperties).toBe(false);
    expect(document.components.schemas.InstanceOutputs.properties.state.enum).toEqual(["pending", "running", "stopped", "terminated"]);
    // every $ref resolves
    const refs = JSON.stringify(document).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(document.components.schemas).toHaveProperty([ref.slice(22, -1)]);
  });
});

describe("HttpBackend", () => {
  it("does what the embedded backend does, over the API, with errors that keep their code", async () => {
    const backend = new HttpBackend({ endpoint: `${server.url}/v1/`, token: TOKEN });
    const pool = await backend.create("StoragePool", specs.pool, { name: "pool.fast", token: "t-pool" });
    expect(await backend.create("StoragePool", specs.pool, { name: "pool.fast", token: "t-pool" })).toEqual(pool);
    const volume = await backend.create("Volume", specs.volume(pool.id), { name: "volume.data", token: "t-vol" });
    expect(await backend.get("Volume", volume.id)).toEqual(volume);
    expect(await backend.get("Volume", "vol-ffffff")).toBeNull();
    const grown = await backend.update("Volume", volume.id, { ...volume.spec, sizeGiB: 30 }, { restart: false });
    expect(grown.spec.sizeGiB).toBe(30);

    const failure = await backend.update("Volume", volume.id, { ...volume.spec, sizeGiB: 5 }, { restart: false }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(HttpBackendError);
    expect((failure as HttpBackendError).status).toBeGreaterThanOrEqual(400);
    const gone = await backend.delete("Volume", "vol-ffffff").catch((e: unknown) => e);
    expect(isNotFound(gone)).toBe(true);

    const rehearsal = await backend.rehearsal();
    await rehearsal.delete("Volume", volume.id);
    expect(await rehearsal.get("Volume", volume.id)).toBeNull();
    expect(await backend.get("Volume", volume.id)).not.toBeNull();
    await rehearsal.dispose();
    expect((await backend.list("Volume")).map((v) => v.id)).toEqual([volume.id]);
    expect((await backend.events()).length).toBeGreaterThan(0);
    expect(Object.keys((await backend.inspect()).volumes)).toEqual([volume.id]);

    const refused = await new HttpBackend({ endpoint: server.url, token: "wrong" }).get("Volume", volume.id).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "unauthorized", status: 401 });
  });
});
