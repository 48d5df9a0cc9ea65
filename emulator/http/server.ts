// The emulator as an HTTP service: a versioned REST API under /v1 over one Emulator. Every request
// needs the bearer token; request bodies are checked against the kinds' zod schemas; errors are
// `{ "error": { "code", "message" } }` with a status per code. The Emulator is synchronous, so each
// request is applied whole before the next one starts.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import { Emulator, type EmulatedObject } from "../emulator.ts";
import { EmulatorError, type EmulatorErrorCode } from "../errors.ts";
import { COLLECTIONS, type ApiErrorBody, type ApiErrorCode, type CollectionName } from "./collections.ts";
import { openApiDocument } from "./openapi.ts";
import { pathId, queryNumber, wholeNumber } from "./params.ts";
import { objectName } from "../../sdk/names.ts";
import { tagsSchema, type Tags } from "../tags.ts";
import { deviceRoutes } from "./devices.ts";
import { NbdServer } from "../block/nbd-server.ts";
import type { NbdSecurity } from "../block/nbd-tls.ts";
import { INSTANCE_ACTIONS, type InstanceAction } from "../compute/instances.ts";

export interface ServerOptions {
  emulator: Emulator;
  token: string;
  /** How many rehearsals may exist at once; each is a full in-memory copy. */
  maxRehearsals?: number;
  /** A rehearsal unused for this long is dropped (a client that died before disposing it). */
  rehearsalIdleMs?: number;
  logger?: boolean;
}

/**
 * Capacity maps to 409 rather than 507: the request conflicts with what the emulator holds now and
 * a smaller one (or freeing room) succeeds, and 5xx would invite blind retries.
 */
const STATUS: Record<EmulatorErrorCode, number> = { "not-found": 404, conflict: 409, invalid: 422, capacity: 409 };

/** An error of the HTTP layer itself, answered like the emulator's. */
class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;

  constructor(status: number, code: ApiErrorCode, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const idempotencyKey = z.string().min(1).max(256);
const sinceSchema = wholeNumber(Number.MAX_SAFE_INTEGER);
/** Spec paths the client keeps secret (sealed at rest, redacted by inspect): "userData", "config.password". */
const secretPathsSchema = z.array(z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).max(1000)).max(1000).optional();
const createBody = (kind: KindName): z.ZodType<{ name: string; spec: unknown; tags?: Tags; secretPaths?: string[] | undefined }> =>
  z.object({ name: objectName, spec: kinds[kind].inputs as z.ZodType<unknown>, tags: tagsSchema.optional(), secretPaths: secretPathsSchema }).strict();
/** `?tag=KEY=VALUE` (repeatable): a list holds only objects carrying every such tag. */
const tagQuery = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().regex(/^[^=]+=/, "a tag filter is KEY=VALUE")))
  .transform((pairs) => Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)])))
  .pipe(tagsSchema);
const updateBody = (kind: KindName): z.ZodType<{ spec: unknown; restart: boolean; secretPaths?: string[] | undefined }> =>
  z.object({ spec: kinds[kind].inputs as z.ZodType<unknown>, restart: z.boolean().default(false), secretPaths: secretPathsSchema }).strict();
const showSecretsSchema = z.enum(["true", "false"]).optional();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ");
  throw new ApiError(422, "invalid", `invalid ${what}: ${detail}`);
}

/** Compares hashes so neither the length nor the content of the token leaks through timing. */
function tokenChecker(token: string): (header: string | undefined) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
    const given = createHash("sha256").update(match?.[1] ?? "").digest();
    return timingSafeEqual(given, expected) && match !== null;
  };
}

export function buildServer(options: ServerOptions): FastifyInstance {
  if (options.token.length === 0) throw new Error("the emulator API needs a non-empty token");
  const main = options.emulator;
  const maxRehearsals = options.maxRehearsals ?? 32;
  const idleMs = options.rehearsalIdleMs ?? 15 * 60_000;
  const rehearsals = new Map<string, { emulator: Emulator; usedAt: number }>();
  const authorized = tokenChecker(options.token);
  const send = (reply: FastifyReply, status: number, code: ApiErrorCode, message: string) =>
    reply.code(status).type("application/json").send({ error: { code, message } } satisfies ApiErrorBody);
  const refuse = (reply: FastifyReply) => {
    reply.header("www-authenticate", 'Bearer realm="virtform-emulator"');
    return send(reply, 401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)");
  };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1000 },
    // The router's own refusals (a bad URL, an over-long id) skip the hooks: check auth here too.
    frameworkErrors: (error, request, reply) => {
      if (!authorized(request.headers.authorization)) return refuse(reply);
      if (error.code === "FST_ERR_MAX_PARAM_LENGTH") return send(reply, 414, "too-large", "a path segment is too long");
      return send(reply, 400, "malformed", error.message);
    },
  });

  // Bodies are JSON (or bytes for a device): text is refused as a media type, not misread as a value.
  app.removeContentTypeParser("text/plain");

  const dropIdle = () => {
    const now = Date.now();
    for (const [id, r] of rehearsals) if (now - r.usedAt > idleMs) rehearsals.delete(id);
  };

  const target = (request: FastifyRequest): Emulator => {
    const rid = (request.params as { rid?: string }).rid;
    if (rid === undefined) return main;
    const rehearsal = rehearsals.get(rid);
    if (!rehearsal) throw new ApiError(404, "not-found", `rehearsal ${rid} does not exist (discarded, expired, or never made)`);
    rehearsal.usedAt = Date.now();
    return rehearsal.emulator;
  };

  // A change is answered once its bytes are in place too (pools, volumes, snapshots, local disks).
  app.addHook("onSend", async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") await main.settled();
  });

  // Before the body is even read: an unauthenticated request changes nothing and learns nothing.
  app.addHook("onRequest", async (request, reply) => {
    if (authorized(request.headers.authorization)) return;
    return refuse(reply);
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof EmulatorError) return send(reply, STATUS[err.code] ?? 500, err.code, err.message);
    if (err instanceof ApiError) return send(reply, err.status, err.code, err.message);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const message = err instanceof Error ? err.message : String(err);
    if (status === 413) return send(reply, 413, "too-large", message);
    if (status === 415) {
      const type = JSON.stringify(request.headers["content-type"] ?? "");
      return send(reply, 415, "unsupported-media-type", `content-type ${type} is not accepted: send application/json (application/octet-stream for device bytes)`);
    }
    if (status >= 400 && status < 500) return send(reply, 400, "malformed", message);
    reply.log.error(err);
    return send(reply, 500, "internal", `internal error: ${message}`);
  });

  app.setNotFoundHandler((request, reply) => send(reply, 404, "not-found", `no route ${request.method} ${request.url.split("?")[0]}`));

  // Every object and event, under /v1 for the emulator and under /v1/rehearsals/:rid for a rehearsal.
  const routes = async (scope: FastifyInstance) => {
    for (const [collection, kind] of Object.entries(COLLECTIONS) as [CollectionName, KindName][]) {
      const base = `/${collection}`;
      const createSchema = createBody(kind);
      const updateSchema = updateBody(kind);
      scope.get(base, async (request) => {
        const { tag } = request.query as { tag?: unknown };
        const filter = tag === undefined ? {} : { tags: parse(tagQuery, tag, "tag filter (?tag=KEY=VALUE)") };
        return { items: target(request).list(kind, filter).map((o) => checked(kind, o)) };
      });
      scope.post(base, async (request, reply) => {
        const emulator = target(request);
        const key = request.headers["idempotency-key"];
        const token = key === undefined ? undefined : parse(idempotencyKey, key, "Idempotency-Key header");
        const body = parse(createSchema, request.body, `${kind} create request`);
        // Keys are scoped by kind: the Emulator looks a token up across collections and would answer a
        // cluster create with the volume an earlier create under the same key made.
        const object = emulator.create(kind, body.spec, {
          name: body.name,
          ...(body.tags && { tags: body.tags }),
          ...(token ? { token: `${kind}:${token}` } : {}),
          ...(body.secretPaths ? { secretPaths: body.secretPaths } : {}),
        });
        return reply.code(201).send(checked(kind, object));
      });
      scope.get(`${base}/:id`, async (request) => {
        const id = pathId((request.params as { id: string }).id, kind);
        const emulator = target(request);
        const object = emulator.get(kind, id);
        if (!object) throw new EmulatorError("not-found", `${kind} ${id} does not exist`);
        // For operators: a pool's bytes (capacity, allocated, used, LUN map); the DSL never needs them.
        if (kind === "StoragePool" && emulator === main && main.dataPlane) {
          const data = await main.dataPlane.poolUsage(id).catch((err: Error) => ({ error: err.message }));
          return { ...checked(kind, object), data };
        }
        return checked(kind, object);
      });
      scope.put(`${base}/:id`, async (request) => {
        const emulator = target(request);
        const id = pathId((request.params as { id: string }).id, kind);
        const body = parse(updateSchema, request.body, `${kind} update request`);
        return checked(kind, emulator.update(kind, id, body.spec, { restart: body.restart, ...(body.secretPaths ? { secretPaths: body.secretPaths } : {}) }));
      });
      scope.put(`${base}/:id/tags`, async (request) => {
        const id = pathId((request.params as { id: string }).id, kind);
        return checked(kind, target(request).setTags(kind, id, parse(tagsSchema, request.body, `${kind} tags`)));
      });
      scope.delete(`${base}/:id`, async (request, reply) => {
        const id = pathId((request.params as { id: string }).id, kind);
        target(request).delete(kind, id);
        return reply.code(204).send();
      });
    }
    // The emulator's lifecycle: start and stop also set the declared power state (the engine sees
    // drift); a terminated instance or a reboot of a stopped one is a 409.
    scope.post("/instances/:id/actions/:action", async (request) => {
      const { id, action } = request.params as { id: string; action: string };
      if (!(INSTANCE_ACTIONS as readonly string[]).includes(action)) {
        throw new ApiError(404, "not-found", `instances have no action ${action}; actions: ${INSTANCE_ACTIONS.join(", ")}`);
      }
      return checked("Instance", target(request).instanceAction(pathId(id, "Instance"), action as InstanceAction));
    });
    scope.get("/events", async (request) => {
      const { since } = request.query as { since?: unknown };
      const after = queryNumber(since, "since", sinceSchema) ?? 0;
      return { items: target(request).events(after) };
    });
    scope.get("/inspect", async (request) => {
      const { showSecrets } = request.query as { showSecrets?: unknown };
      return target(request).inspect({ showSecrets: parse(showSecretsSchema, showSecrets, "showSecrets (true or false)") === "true" });
    });
    scope.get("/capacity", async (request) => ({ items: target(request).capacity() }));
    // Crash recovery: what a create with this (kind-scoped) key made, if anything.
    scope.get("/tokens/:key", async (request) => {
      const { key } = request.params as { key: string };
      const kind = key.split(":")[0] as KindName;
      if (!Object.hasOwn(kinds, kind)) throw new EmulatorError("not-found", `no create was made with key ${key}`);
      const object = target(request).findByToken(kind, key);
      if (!object) throw new EmulatorError("not-found", `no create was made with key ${key}`);
      return checked(kind, object);
    });
  };

  app.register(
    async (v1) => {
      await routes(v1);
      await v1.register(deviceRoutes, { emulator: main });
      const document = openApiDocument();
      v1.get("/openapi.json", async () => document);
      v1.post("/rehearsals", async (_request, reply) => {
        dropIdle();
        if (rehearsals.size >= maxRehearsals) {
          throw new ApiError(409, "capacity", `${rehearsals.size} rehearsals exist already; discard one (DELETE /v1/rehearsals/{id})`);
        }
        const id = randomUUID();
        rehearsals.set(id, { emulator: main.rehearsal(), usedAt: Date.now() });
        return reply.code(201).send({ id });
      });
      v1.delete("/rehearsals/:rid", async (request, reply) => {
        const { rid } = request.params as { rid: string };
        if (!rehearsals.delete(rid)) throw new ApiError(404, "not-found", `rehearsal ${rid} does not exist`);
        return reply.code(204).send();
      });
      await v1.register(routes, { prefix: "/rehearsals/:rid" });
    },
    { prefix: "/v1" },
  );
  return app;
}

/** What goes out matches the kind's output schema, or the request fails loudly instead of lying. */
function checked(kind: KindName, object: EmulatedObject): EmulatedObject {
  const result = kinds[kind].outputs.safeParse(object.outputs);
  if (!result.success) throw new Error(`emulator produced invalid outputs for ${kind} ${object.id}: ${result.error.message}`);
  return object;
}

export interface RunningServer {
  url: string;
  /** nbds://host:port (nbd:// when insecure) when serving NBD; export names are volume, snapshot
   *  or attachment ids. */
  nbdUrl?: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Opens the emulator in `dataDir` and serves it; port 0 picks a free port. */
export async function serveEmulator(options: {
  dataDir: string;
  token: string;
  host?: string;
  port?: number;
  logger?: boolean;
  /** Also serve every volume, snapshot and attachment over NBD on this port (0 picks one). */
  nbdPort?: number;
  /** Required with nbdPort: the pre-shared key clients must use, or "insecure" (loopback only). */
  nbdSecurity?: NbdSecurity;
  /** Open NBD connections one client address may hold (default 64). */
  nbdMaxConnectionsPerClient?: number;
}): Promise<RunningServer> {
  if (options.nbdPort !== undefined && options.nbdSecurity === undefined) {
    throw new Error('serving NBD needs nbdSecurity (a pre-shared key, or "insecure")');
  }
  const emulator = Emulator.open(options.dataDir);
  await emulator.settled(); // pools open (and a reconcile cut short by a crash finishes) before serving
  const app = buildServer({ emulator, token: options.token, ...(options.logger ? { logger: true } : {}) });
  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let nbd: NbdServer | undefined;
  let nbdPort: number | undefined;
  if (options.nbdPort !== undefined) {
    const plane = emulator.dataPlane!;
    const security = options.nbdSecurity as NbdSecurity; // checked above
    nbd = new NbdServer({
      lookup: (name) => plane.nbdExport(name).catch(() => undefined),
      list: () => plane.nbdNames(),
      security,
      ...(options.nbdMaxConnectionsPerClient !== undefined && { maxConnectionsPerClient: options.nbdMaxConnectionsPerClient }),
    });
    try {
      nbdPort = (await nbd.listen({ host, port: options.nbdPort })).port;
    } catch (error) {
      await app.close();
      await emulator.close();
      throw error;
    }
  }
  return {
    url: `http://${shownHost}:${port}`,
    ...(nbdPort !== undefined && { nbdUrl: `${options.nbdSecurity === "insecure" ? "nbd" : "nbds"}://${shownHost}:${nbdPort}` }),
    app,
    close: async () => {
      await nbd?.close();
      await app.close();
      await emulator.close();
    },
  };
}
