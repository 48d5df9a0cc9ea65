// The OpenAPI document of the emulator API, generated from the kinds' zod schemas (the same ones the
// server validates request bodies with), so the document cannot drift from what is enforced.
import { z } from "zod";
import { kinds } from "../../sdk/kinds/index.ts";
import { COLLECTIONS } from "./collections.ts";

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) });

const SECRET_PATHS = {
  type: "array",
  items: { type: "string" },
  description: "Spec paths to keep secret beside the kind's own secret fields (e.g. config.password): sealed at rest, redacted by inspect",
};

const ERRORS = {
  "401": errorResponse("Missing or wrong bearer token; nothing was changed"),
  "404": errorResponse("No such object (or rehearsal)"),
  "409": errorResponse("Conflict with the current state, or not enough capacity (error code `capacity`)"),
  "422": errorResponse("The request does not match the schema, or the change is not allowed"),
};

export function openApiDocument(): JsonObject {
  const schemas: JsonObject = {
    Error: {
      type: "object",
      required: ["error"],
      properties: {
        error: {
          type: "object",
          required: ["code", "message"],
          properties: {
            code: {
              type: "string",
              enum: ["not-found", "conflict", "invalid", "capacity", "unauthorized", "malformed", "unsupported-media-type", "too-large", "internal"],
            },
            message: { type: "string" },
          },
        },
      },
    },
    Event: {
      type: "object",
      required: ["seq", "time", "type", "id"],
      properties: { seq: { type: "integer" }, time: { type: "string", format: "date-time" }, type: { type: "string" }, id: { type: "string" }, detail: { type: "string" } },
    },
  };
  const paths: JsonObject = {};
  for (const [collection, kindName] of Object.entries(COLLECTIONS)) {
    const kind = kinds[kindName];
    schemas[`${kindName}Spec`] = jsonSchema(kind.inputs, "input");
    schemas[`${kindName}Outputs`] = jsonSchema(kind.outputs, "output");
    schemas[kindName] = {
      type: "object",
      description: kind.description,
      required: ["id", "name", "spec", "outputs"],
      properties: {
        id: { type: "string" },
        name: { type: "string" },
        spec: ref(`${kindName}Spec`),
        outputs: ref(`${kindName}Outputs`),
        unhealthy: { type: "string", description: "On reads, when the emulator cannot serve the object: why (a pool whose LUN files are missing or short)" },
      },
    };
    const one = { description: `The ${kindName}`, content: json(ref(kindName)) };
    const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
    paths[`/v1/${collection}`] = {
      get: {
        operationId: `list${kindName}`,
        summary: `List every ${kindName}`,
        responses: { "200": { description: "All objects", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: ref(kindName) } } }) }, "401": ERRORS["401"] },
      },
      post: {
        operationId: `create${kindName}`,
        summary: `Create a ${kindName}`,
        parameters: [
          { name: "Idempotency-Key", in: "header", required: false, description: "A create retried with the same key returns the object made the first time", schema: { type: "string", maxLength: 256 } },
        ],
        requestBody: { required: true, content: json({ type: "object", required: ["name", "spec"], additionalProperties: false, properties: { name: { type: "string", minLength: 1, maxLength: 256 }, spec: ref(`${kindName}Spec`), secretPaths: SECRET_PATHS } }) },
        responses: { "201": one, ...ERRORS },
      },
    };
    const byId: JsonObject = {
      parameters: [idParam],
      get: { operationId: `get${kindName}`, responses: { "200": one, "401": ERRORS["401"], "404": ERRORS["404"] } },
      put: {
        operationId: `update${kindName}`,
        requestBody: { required: true, content: json({ type: "object", required: ["spec"], additionalProperties: false, properties: { spec: ref(`${kindName}Spec`), restart: { type: "boolean", default: false, description: "Allow changes that need a restart" }, secretPaths: SECRET_PATHS } }) },
        responses: { "200": one, ...ERRORS },
      },
      delete: { operationId: `delete${kindName}`, responses: { "204": { description: "Deleted" }, ...ERRORS } },
    };
    paths[`/v1/${collection}/{id}`] = byId;
  }
  paths["/v1/instances/{id}/actions/{action}"] = {
    post: {
      operationId: "instanceAction",
      summary: "Start or stop an instance (sets its declared power state)",
      parameters: [
        { name: "id", in: "path", required: true, schema: { type: "string" } },
        { name: "action", in: "path", required: true, schema: { type: "string", enum: ["start", "stop", "reboot"] } },
      ],
      responses: { "200": { description: "The instance", content: json(ref("Instance")) }, ...ERRORS },
    },
  };
  paths["/v1/events"] = {
    get: {
      operationId: "listEvents",
      parameters: [{ name: "since", in: "query", required: false, description: "Only events with a larger seq", schema: { type: "integer", minimum: 0 } }],
      responses: { "200": { description: "Events in order", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: ref("Event") } } }) }, "401": ERRORS["401"], "422": ERRORS["422"] },
    },
  };
  paths["/v1/inspect"] = {
    get: {
      operationId: "inspect",
      summary: "Every object the emulator holds, with its internal state (hosts, LUNs, placement); secret values read \"(sensitive)\" unless showSecrets=true",
      parameters: [{ name: "showSecrets", in: "query", required: false, schema: { type: "string", enum: ["true", "false"] } }],
      responses: { "200": { description: "Everything", content: json({ type: "object" }) }, "401": ERRORS["401"], "422": ERRORS["422"] },
    },
  };
  paths["/v1/capacity"] = {
    get: { operationId: "capacity", summary: "Used and usable capacity per cluster (vCPU, memory, local disk) and per pool (provisioned GiB)", responses: { "200": { description: "Rows", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: { type: "object" } } } }) }, "401": ERRORS["401"] } },
  };
  paths["/v1/tokens/{key}"] = {
    parameters: [{ name: "key", in: "path", required: true, description: "Kind:Idempotency-Key of an earlier create", schema: { type: "string" } }],
    get: { operationId: "findByIdempotencyKey", summary: "The object an earlier create with this key made (crash recovery)", responses: { "200": { description: "The object", content: json({ type: "object" }) }, "401": ERRORS["401"], "404": ERRORS["404"] } },
  };
  paths["/v1/rehearsals"] = {
    post: {
      operationId: "createRehearsal",
      summary: "An in-memory copy of the emulator to try a plan on; every /v1 route works under /v1/rehearsals/{rid}",
      responses: { "201": { description: "The rehearsal", content: json({ type: "object", required: ["id"], properties: { id: { type: "string" } } }) }, "401": ERRORS["401"], "409": ERRORS["409"] },
    },
  };
  paths["/v1/rehearsals/{rid}"] = {
    parameters: [{ name: "rid", in: "path", required: true, schema: { type: "string" } }],
    delete: { operationId: "deleteRehearsal", responses: { "204": { description: "Discarded" }, "401": ERRORS["401"], "404": ERRORS["404"] } },
  };
  return {
    openapi: "3.1.0",
    info: { title: "virtform emulator API", version: "1" },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: { schemas, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  };
}
