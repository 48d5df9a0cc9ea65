// Property tests of the emulator API (fast-check): arbitrary ids, queries, headers and bodies sent to
// every route of its OpenAPI document, on a served emulator with real objects and bytes. No request
// may answer 5xx; a rejected one changes no object and no event; nothing reaches Object.prototype;
// an unauthenticated one is a 401. Then raw protocol garbage on the socket, after which the server
// must still serve data that is consistent, and the same on disk as over the API.
import fc from "fast-check";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { COLLECTIONS, type CollectionName } from "../../emulator/http/collections.ts";
import { isObjectId } from "../../emulator/ids.ts";
import { openApiDocument } from "../../emulator/http/openapi.ts";
import { kinds } from "../../sdk/kinds/index.ts";
import { COLLECTION_NAMES, TOKEN, populate, serve, snapshot, specs, type Served } from "./helpers.ts";

/** Keys every plain object inherits: the ids and names that used to find Object.prototype's members. */
const HOSTILE = ["__proto__", "constructor", "hasOwnProperty", "toString", "prototype", "valueOf", "__defineGetter__"];
const METHODS = ["get", "put", "post", "delete"] as const;

/** Every operation of the OpenAPI document the server publishes: what the property covers. */
const OPERATIONS = Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
  METHODS.filter((m) => m in item).map((method) => ({ method: method.toUpperCase(), path })),
);

/** Every byte percent-encoded: any string, lone surrogates included, becomes a URL segment. */
const segment = (s: string) => [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/** What the server holds: every object and the number of events (rehearsals and bytes aside). */
async function holdings(s: Served): Promise<string> {
  const answer = await s.app.inject({ method: "GET", url: "/v1/inspect", headers: { authorization: `Bearer ${TOKEN}` } });
  expect(answer.statusCode).toBe(200);
  return answer.body;
}

let server: Served;
/** Ids of the objects made so far, per collection, and rehearsals: arbitrary requests often name a real one. */
const known: Record<string, string[]> = {};
let digest = "";
beforeAll(async () => {
  server = await serve();
  const made = await populate(server.api);
  digest = made.digest;
  for (const [collection, items] of Object.entries(await snapshot(server.api))) known[collection] = (items as { id: string }[]).map((o) => o.id);
  const rehearsal = await server.api.post("/v1/rehearsals");
  known.rehearsals = [rehearsal.body.id];
});
afterAll(async () => {
  await server.stop();
});

/** A string for a path parameter or a reference in a body: hostile, real, id-shaped, or anything. */
const anyText = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 6, arbitrary: fc.nat().map((n) => ({ known: n })) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{1,5}-[0-9a-f]{6}$/) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
/** A reference in a body: mostly a real object, so that creates succeed often enough to change state. */
const anyRef = fc.oneof({ weight: 8, arbitrary: fc.nat().map((n) => ({ known: n })) }, { weight: 2, arbitrary: anyText });
type AnyText = string | { known: number };
/** A known id of `collection` (or of any collection), resolved when the request is sent. */
const resolve = (t: AnyText, collection?: string): string => {
  if (typeof t === "string") return t;
  const pool = collection ? (known[collection] ?? []) : Object.values(known).flat();
  return pool.length ? pool[t.known % pool.length]! : "none";
};

/** Names: valid addresses, and what must be refused (controls, direction overrides, lone surrogates). */
const anyName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("volume.extra", "instances.web/app[7]", "attachment.extra@web/app[0]", "pool.x", "a") },
  { weight: 1, arbitrary: fc.constantFrom("bad\u0000name", "line\nbreak", "pool.\u202eevil", "pool.\ud800", "Pool.Upper", " ", "", "x".repeat(300), ...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);

const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...HOSTILE), anyText);

/** A valid spec for the collection with, often, one field replaced by something arbitrary. */
function specFor(collection: CollectionName, refs: AnyText[], field: string | undefined, value: unknown): Record<string, unknown> {
  const ref = (i: number, c: string) => resolve(refs[i] ?? { known: 0 }, c);
  const valid: Record<CollectionName, Record<string, unknown>> = {
    clusters: { ...specs.cluster, hosts: { ...specs.cluster.hosts, count: 1 } },
    images: specs.image,
    pools: { ...specs.pool, devices: [{ sizeGiB: 1 }] },
    volumes: { ...specs.volume(ref(0, "pools")), sizeGiB: 1 },
    snapshots: { volume: ref(0, "volumes") },
    instances: { ...specs.instance(ref(0, "clusters"), ref(1, "images"), digest, 9), localDiskGiB: 0, image: { image: ref(1, "images"), variant: typeof refs[2] === "string" ? refs[2] : "light", digest } },
    attachments: { volume: ref(0, "volumes"), instance: ref(1, "instances") },
  };
  const spec: Record<string, unknown> = { ...valid[collection] };
  if (field !== undefined) Object.defineProperty(spec, field, { value: typeof value === "object" && value !== null && "known" in value ? resolve(value as AnyText) : value, enumerable: true, writable: true, configurable: true });
  return spec;
}

const anyBody = fc.oneof(
  { weight: 4, arbitrary: fc.record({ shape: fc.constant("object" as const), name: anyName, refs: fc.array(anyRef, { minLength: 3, maxLength: 3 }), field: fc.option(fc.oneof(fc.constantFrom("pool", "source", "volume", "instance", "cluster", "sizeGiB", "variants", "name", ...HOSTILE), fc.string({ maxLength: 8 })), { freq: 2, nil: undefined }), value: anyValue, restart: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ shape: fc.constant("json" as const), value: fc.jsonValue({ maxDepth: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ shape: fc.constant("text" as const), text: fc.constantFrom('{"__proto__":{"spec":1}}', '{"constructor":{"prototype":{"spec":1}}}', '{"name":', "hello", "", "null") }) },
  { weight: 1, arbitrary: fc.record({ shape: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 512 }) }) },
);

/** `arbitrary` one time in ten, undefined otherwise. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

const anyRequest = fc.record({
  // Creates weigh more: they are what changes state, and what a rejection must leave unchanged.
  operation: fc.oneof(fc.constantFrom(...OPERATIONS), fc.constantFrom(...OPERATIONS.filter((o) => o.method === "POST"))),
  otherMethod: rarely(fc.constantFrom("PATCH", "OPTIONS", "HEAD", "GET", "DELETE")),
  inRehearsal: fc.boolean(),
  params: fc.array(anyText, { minLength: 2, maxLength: 2 }),
  query: fc.array(fc.tuple(fc.constantFrom("offset", "length", "since", "x"), fc.oneof(fc.constantFrom("0", "1", "0x10", "", "-1", "1e3", "4096", "99999999999999999999"), fc.string({ maxLength: 6 }))), { maxLength: 3 }),
  body: fc.option(anyBody, { freq: 4, nil: undefined }),
  contentType: fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/octet-stream", "application/xml", undefined) }),
  idempotencyKey: rarely(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 10 }))),
  auth: fc.oneof({ weight: 9, arbitrary: fc.constant(`Bearer ${TOKEN}`) }, { weight: 1, arbitrary: fc.constantFrom(undefined, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, "Bearer ", TOKEN) }),
});
type Request = typeof anyRequest extends fc.Arbitrary<infer T> ? T : never;

/** The request as the wire sees it: placeholders filled, the query and body encoded. */
function build(r: Request): { method: string; url: string; headers: Record<string, string>; payload?: string | Buffer } {
  const collection = r.operation.path.split("/")[2] as CollectionName;
  let i = 0;
  let path = r.operation.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const text = r.params[i++]!;
    const own = name === "id" ? collection : name === "rid" ? "rehearsals" : undefined;
    if (name === "action" && typeof text !== "string") return ["start", "stop", "reboot"][text.known % 3]!;
    if (name === "name" && typeof text !== "string") return ["vda", "vdb", "vdc"][text.known % 3]!;
    if (name === "key" && typeof text !== "string") return segment(`${COLLECTIONS[collection] ?? "Volume"}:${text.known}`);
    return segment(resolve(text, own));
  });
  if (r.inRehearsal && path.startsWith("/v1/") && !path.startsWith("/v1/rehearsals")) path = path.replace("/v1/", `/v1/rehearsals/${known.rehearsals![0]}/`);
  const query = r.query.map(([k, v]) => `${k}=${segment(v)}`).join("&");
  const headers: Record<string, string> = {};
  if (r.auth !== undefined) headers.authorization = r.auth;
  if (r.idempotencyKey !== undefined) headers["idempotency-key"] = segment(r.idempotencyKey);
  let payload: string | Buffer | undefined;
  const body = r.body;
  if (body?.shape === "object") {
    const kind = COLLECTION_NAMES.includes(collection as never) ? collection : "volumes";
    const spec = specFor(kind, body.refs, body.field, body.value);
    payload = JSON.stringify(r.operation.method === "PUT" ? { spec, restart: body.restart } : { name: body.name, spec });
  } else if (body?.shape === "json") payload = JSON.stringify(body.value);
  else if (body?.shape === "text") payload = body.text;
  else if (body?.shape === "bytes") payload = Buffer.from(body.bytes);
  if (payload !== undefined && r.contentType !== undefined) headers["content-type"] = r.contentType;
  return { method: r.otherMethod ?? r.operation.method, url: path + (query ? `?${query}` : ""), headers, ...(payload === undefined ? {} : { payload }) };
}

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

describe("hostile ids", () => {
  it("answers 404 or 422 for JavaScript property names on every route and in every reference, and keeps serving", async () => {
    const before = await holdings(server);
    const statuses: string[] = [];
    for (const name of HOSTILE) {
      for (const { method, path } of OPERATIONS) {
        if (path === "/v1/rehearsals" || !path.includes("{")) continue;
        const url = path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === "action" ? "stop" : p === "name" && !path.includes("{id}") ? "vdb" : segment(name)));
        const answer = await server.app.inject({ method: method as "GET", url, headers: { authorization: `Bearer ${TOKEN}` } });
        statuses.push(`${method} ${url} ${answer.statusCode}`);
        expect([404, 415, 422], `${method} ${url}: ${answer.body}`).toContain(answer.statusCode);
        expect(answer.body).not.toMatch(/undefined|function|native code/);
      }
      // references in create bodies
      for (const [collection, spec] of [
        ["volumes", { pool: name, sizeGiB: 1 }],
        ["volumes", { pool: known.pools![0], sizeGiB: 1, source: name }],
        ["snapshots", { volume: name }],
        ["attachments", { volume: name, instance: known.instances![0] }],
        ["attachments", { volume: known.volumes![0], instance: name }],
        ["instances", specs.instance(name, known.images![0]!, digest, 5)],
        ["instances", { ...specs.instance(known.clusters![0]!, known.images![0]!, digest, 5), image: { image: known.images![0], variant: name, digest } }],
      ] as const) {
        const answer = await server.api.post(`/v1/${collection}`, { name: "volume.hostile", spec });
        expect([404, 409, 422], `${collection} ${JSON.stringify(spec)}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
        // ...with a message about what was asked, never about what Object.prototype holds under that name
        expect(answer.body.error.message).not.toMatch(/undefined|function|native code/);
      }
    }
    expect(statuses.length).toBeGreaterThan(40);
    expect(await holdings(server)).toBe(before);
    // The probe's poisoning: an action on "__proto__" made every later create fail until a restart.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    const pool = await server.api.post("/v1/pools", { name: "pool.after", spec: specs.pool });
    expect(pool.status, JSON.stringify(pool.body)).toBe(201);
    expect((await server.api.del(`/v1/pools/${pool.body.id}`)).status).toBe(204);
  });
});

describe("fuzz", () => {
  it("never answers 5xx, and a rejected request changes nothing, on every route of the OpenAPI document", { timeout: 60_000 }, async () => {
    const seen = new Map<number, number>();
    let held = await holdings(server);
    await fc.assert(
      fc.asyncProperty(anyRequest, async (r) => {
        const request = build(r);
        const answer = await server.app.inject({ method: request.method as "GET", url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) });
        const what = `${request.method} ${request.url} -> ${answer.statusCode} ${answer.body.slice(0, 300)}`;
        seen.set(answer.statusCode, (seen.get(answer.statusCode) ?? 0) + 1);
        expect(answer.statusCode, what).toBeLessThan(500);
        if (r.auth !== `Bearer ${TOKEN}`) expect(answer.statusCode, what).toBe(401);
        if (answer.statusCode >= 400 && request.method !== "HEAD") {
          expect(JSON.parse(answer.body), what).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort(), what).toEqual(prototypeKeys);
        const now = await holdings(server);
        if (answer.statusCode >= 400) expect(now, what).toBe(held);
        held = now;
        // Learn what was made, so later requests can name it.
        if (answer.statusCode === 201 && request.method === "POST") {
          const made = JSON.parse(answer.body) as { id: string };
          const collection = request.url.includes("/rehearsals/") ? undefined : request.url.split("/")[2]!.split("?")[0]!;
          if (collection !== undefined) (known[collection] ??= []).push(made.id);
        }
      }),
      { numRuns: 500 },
    );
    expect(seen.get(201) ?? 0, JSON.stringify([...seen])).toBeGreaterThan(0); // the fuzz changed things, not only failed
    expect(seen.get(404) ?? 0).toBeGreaterThan(0);
    expect(seen.get(422) ?? 0).toBeGreaterThan(0);
  });

  it("keeps serving after protocol garbage on the socket, with consistent data, the same on disk as over the API", async () => {
    const port = Number(new URL(server.url).port);
    for (const bytes of [
      "GARBAGE\r\n\r\n",
      "GET /v1/clusters HTTP/1.1\r\nHost: x\r\n" + "X-Long: " + "a".repeat(100_000) + "\r\n\r\n",
      `POST /v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":"trunc`,
      `POST /v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      "\u0000\u0001\u0002\u00ff".repeat(100),
      `GET /v1/pools/__proto__ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`.repeat(5),
    ]) {
      await raw(port, bytes);
    }
    const now = await snapshot(server.api);
    const exists = (c: string, id: unknown) => (now[c] as { id: string }[]).some((o) => o.id === id);
    for (const [collection, kind] of Object.entries(COLLECTIONS)) {
      for (const o of now[collection] as { id: string; name: string; spec: unknown; outputs: unknown }[]) {
        expect(kinds[kind].inputs.safeParse(o.spec).success, `${o.id} spec`).toBe(true);
        expect(kinds[kind].outputs.safeParse(o.outputs).success, `${o.id} outputs`).toBe(true);
        expect(isObjectId(o.id), o.id).toBe(true);
      }
    }
    for (const v of now.volumes as { spec: { pool: string } }[]) expect(exists("pools", v.spec.pool)).toBe(true);
    for (const i of now.instances as { spec: { cluster: string; image: { image: string } } }[]) {
      expect(exists("clusters", i.spec.cluster)).toBe(true);
      expect(exists("images", i.spec.image.image)).toBe(true);
    }
    for (const a of now.attachments as { spec: { volume: string; instance: string } }[]) {
      expect(exists("volumes", a.spec.volume)).toBe(true);
      expect(exists("instances", a.spec.instance)).toBe(true);
    }
    const events = (await server.api.get("/v1/events")).body.items as { seq: number }[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const reopened = Emulator.open(server.dataDir);
    for (const [collection, kind] of Object.entries(COLLECTIONS)) expect(reopened.list(kind), collection).toEqual(now[collection]);
    expect(reopened.events().length).toBe(events.length);
  });
});

/** Raw bytes on a socket: what fetch would never send. */
async function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("data", (d) => (answer += d.toString("latin1")));
    socket.on("error", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.on("connect", () => socket.end(bytes));
  });
}
