// Thousands of random, half-valid and malformed requests against a served emulator on loopback (a
// seeded generator, so a failure replays). Afterwards the server must still answer, never have said
// 500, and hold data that is consistent: valid against the schemas, references intact, the same on
// disk as over the API, events numbered in order; unauthenticated requests must have changed nothing.
import { mulberry32 } from "../helpers/random.ts";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { COLLECTIONS } from "../../emulator/http/collections.ts";
import { kinds } from "../../sdk/kinds/index.ts";
import { COLLECTION_NAMES, TOKEN, populate, serve, snapshot, specs, type Served } from "./helpers.ts";

const SEED = 20_261_124;
const REQUESTS = 3000;
const BATCH = 16;

function random(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof random>;

const WEIRD_VALUES: unknown[] = [null, true, 0, -1, 1e308, -0.5, "", "x".repeat(5000), [], {}, [1, [2, [3]]], { __proto__: { admin: true } }, "💥", "../../etc/passwd", NaN];

/** A value like `value` but damaged somewhere: a field dropped, retyped, or one added. */
function mutate(rng: Rng, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 3 || rng.chance(0.2)) return rng.pick(WEIRD_VALUES);
  const copy: Record<string, unknown> = Array.isArray(value) ? { ...value } : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = rng.int(4);
  if (roll === 0 && keys.length) delete copy[rng.pick(keys)];
  else if (roll === 1) copy[rng.pick(["extra", "__proto__", "constructor", "spec", "id"])] = rng.pick(WEIRD_VALUES);
  else if (keys.length) {
    const key = rng.pick(keys);
    copy[key] = mutate(rng, copy[key], depth + 1);
  }
  return Array.isArray(value) ? Object.values(copy) : copy;
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  authorized: boolean;
}

function generate(rng: Rng, ids: Record<string, string[]>, rehearsals: string[]): Req {
  const collection = rng.pick(COLLECTION_NAMES);
  const known = ids[collection] ?? [];
  const anyId = () => (known.length && rng.chance(0.6) ? rng.pick(known) : rng.pick(["x", "cl-000001", "i-ffffff", "%2e%2e", rng.pick(["a".repeat(300), "a".repeat(1200)]), "%00", "🙂"]));
  const prefix = rehearsals.length && rng.chance(0.15) ? `/v1/rehearsals/${rng.pick(rehearsals)}` : rng.chance(0.03) ? "/v1/rehearsals/nope" : "/v1";
  const method = rng.pick(["GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
  // Half of the writes go where they can succeed, so the fuzz changes state, not only fails.
  const aimed = rng.chance(0.5) && (method === "POST" ? `${prefix}/${collection}` : method === "PUT" || method === "DELETE" ? `${prefix}/${collection}/${anyId()}` : undefined);
  const path = aimed || rng.pick([
    `${prefix}/${collection}`,
    `${prefix}/${collection}/${anyId()}`,
    `${prefix}/instances/${anyId()}/actions/${rng.pick(["start", "stop", "reboot", "x"])}`,
    `${prefix}/events?since=${rng.pick(["0", "5", "-3", "abc", "1e3", "", "99999999999999999999"])}`,
    "/v1/openapi.json",
    "/v1/rehearsals",
    `/v1/rehearsals/${rehearsals.length ? rng.pick(rehearsals) : "none"}`,
    "/v2/clusters",
    "/",
    `/v1/${collection}?${"q=1&".repeat(rng.int(50))}`,
    `/v1//${collection}/`,
  ]);
  const authorized = rng.chance(0.85);
  const headers: Record<string, string> = {};
  if (authorized) headers.authorization = `Bearer ${TOKEN}`;
  else if (rng.chance(0.7)) headers.authorization = rng.pick([`Bearer ${TOKEN}x`, "Bearer ", `Basic ${TOKEN}`, "Bearer wrong", TOKEN, `Bearer ${TOKEN.toUpperCase()}`]);
  if (rng.chance(0.2)) headers["idempotency-key"] = rng.pick(["k1", "k2", "", "x".repeat(400), `k${rng.int(1000)}`]);

  const kind = COLLECTIONS[collection];
  const valid: Record<string, unknown> = {
    clusters: specs.cluster,
    images: specs.image,
    pools: specs.pool,
    volumes: specs.volume(ids.pools?.[0] ?? "p"),
    instances: specs.instance(ids.clusters?.[0] ?? "c", ids.images?.[0] ?? "i", ids.digests?.[0] ?? "sha256:x", rng.int(5)),
    attachments: { volume: ids.volumes?.[0] ?? "v", instance: ids.instances?.[0] ?? "i" },
  };
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  const shape = rng.int(10);
  if (method === "GET" || method === "HEAD" || shape === 0) body = undefined;
  else if (shape <= 3) body = JSON.stringify(method === "PUT" ? { spec: valid[collection], restart: rng.chance(0.5) } : { name: `fuzz.${kind}.${rng.int(100)}`, spec: valid[collection] });
  else if (shape <= 6) body = JSON.stringify(mutate(rng, method === "PUT" ? { spec: valid[collection] } : { name: "fuzz", spec: valid[collection] }));
  else if (shape === 7) body = rng.pick(['{"name":', "{", "[]", "null", '"str"', "1", '{"a":1}{', "\u0000", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']);
  else if (shape === 8) body = Uint8Array.from({ length: rng.int(2000) }, () => rng.int(256));
  else body = JSON.stringify({ name: "big", spec: { blob: "y".repeat(rng.chance(0.3) ? 1_100_000 : 10_000) } });
  if (body !== undefined) headers["content-type"] = rng.chance(0.9) ? "application/json" : rng.pick(["text/plain", "application/xml", "application/json; charset=utf-16", "multipart/form-data"]);
  return { method, path, headers, ...(body === undefined ? {} : { body }), authorized };
}

const KNOWN_STATUSES = new Set([200, 201, 204, 400, 401, 404, 409, 413, 414, 415, 422]);

/** Raw bytes on a socket: what fetch would never send. The server must survive and keep serving. */
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

let server: Served;
beforeAll(async () => {
  server = await serve();
});
afterAll(async () => {
  await server.stop();
});

describe("fuzz", () => {
  it("unauthenticated random requests change nothing", async () => {
    await populate(server.api);
    const before = await snapshot(server.api);
    const eventsBefore = (await server.api.get("/v1/events")).body.items;
    const rng = random(SEED + 1);
    const ids = Object.fromEntries(Object.entries(before).map(([c, items]) => [c, (items as { id: string }[]).map((o) => o.id)]));
    let sent = 0;
    while (sent < 500) {
      const req = generate(rng, ids, []);
      if (req.authorized) continue;
      sent++;
      const res = await fetch(server.url + req.path, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }) });
      await res.arrayBuffer();
      expect(res.status, `${req.method} ${req.path}`).toBe(401);
    }
    expect(await snapshot(server.api)).toEqual(before);
    expect((await server.api.get("/v1/events")).body.items).toEqual(eventsBefore);
  });

  it(`survives ${REQUESTS} random and malformed requests with consistent data`, { timeout: 120_000 }, async () => {
    const rng = random(SEED);
    const ids: Record<string, string[]> = Object.fromEntries([...COLLECTION_NAMES, "digests"].map((c) => [c, []]));
    for (const [c, items] of Object.entries(await snapshot(server.api))) ids[c] = (items as { id: string }[]).map((o) => o.id);
    ids.digests = (await snapshot(server.api)).images!.map((i) => (i as { outputs: { variants: { light: { digest: string } } } }).outputs.variants.light.digest);
    const rehearsals: string[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    for (let done = 0; done < REQUESTS && Date.now() - started < 90_000; done += BATCH) {
      const batch = Array.from({ length: BATCH }, () => generate(rng, ids, rehearsals));
      await Promise.all(
        batch.map(async (req) => {
          const res = await fetch(server.url + req.path, {
            method: req.method,
            headers: req.headers,
            ...(req.body === undefined ? {} : { body: req.body }),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          const what = `${req.method} ${req.path.slice(0, 80)} -> ${res.status} ${text.slice(0, 200)}`;
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(KNOWN_STATUSES.has(res.status), what).toBe(true);
          if (!req.authorized) expect(res.status, what).toBe(401);
          if (res.status >= 400 && req.method !== "HEAD") {
            const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            expect(typeof body.error?.code, what).toBe("string");
            expect(typeof body.error?.message, what).toBe("string");
          }
          // learn ids so later requests hit real objects
          if (res.status === 201 && req.method === "POST") {
            const made = JSON.parse(text) as { id: string; outputs?: { variants?: Record<string, { digest: string }> } };
            const digest = made.outputs?.variants?.light?.digest;
            if (digest) ids.digests!.push(digest);
            if (req.path === "/v1/rehearsals") rehearsals.push(made.id);
            else if (req.path.startsWith("/v1/") && !req.path.startsWith("/v1/rehearsals")) ids[req.path.split("/")[2]!.split("?")[0]!]?.push(made.id);
          }
        }),
      );
    }
    // Raw protocol garbage, then the server must still answer.
    const port = Number(new URL(server.url).port);
    for (const bytes of [
      "GARBAGE\r\n\r\n",
      "GET /v1/clusters HTTP/1.1\r\nHost: x\r\n" + "X-Long: " + "a".repeat(100_000) + "\r\n\r\n",
      `POST /v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":"trunc`,
      `POST /v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      "\u0000\u0001\u0002\u00ff".repeat(100),
      `GET /v1/clusters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`.repeat(20),
    ]) {
      await raw(port, bytes);
    }

    expect(statuses.get(500) ?? 0).toBe(0);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(REQUESTS);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0); // the fuzz did change things, not only fail
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);

    // Still serving, and everything held is valid and refers to things that exist.
    const now = await snapshot(server.api);
    const exists = (c: string, id: unknown) => (now[c] as { id: string }[]).some((o) => o.id === id);
    for (const [collection, kind] of Object.entries(COLLECTIONS)) {
      for (const o of now[collection] as { id: string; spec: unknown; outputs: unknown }[]) {
        expect(kinds[kind].inputs.safeParse(o.spec).success, `${o.id} spec`).toBe(true);
        expect(kinds[kind].outputs.safeParse(o.outputs).success, `${o.id} outputs`).toBe(true);
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

    // What is on disk is what the API shows.
    const reopened = Emulator.open(server.dataDir);
    for (const [collection, kind] of Object.entries(COLLECTIONS)) expect(reopened.list(kind), collection).toEqual(now[collection]);
    expect(reopened.events().length).toBe(events.length);
  });
});
