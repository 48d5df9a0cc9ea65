// The OpenAPI document of the emulator API, generated from the kinds' zod schemas (the same ones the
// server validates request bodies with), so the document cannot drift from what is enforced.
import { z } from "zod";
import { withArticle } from "../../core/article.ts";
import { kinds } from "../../sdk/kinds/index.ts";
import { objectName } from "../../sdk/names.ts";
import { objectId } from "../ids.ts";
import { API_ERROR_CODES, COLLECTIONS } from "./collections.ts";
import { MAX_DEVICE_IO_BYTES } from "./devices.ts";
import { tagsSchema } from "../tags.ts";

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return rest;
}

const idParam = { name: "id", in: "path", required: true, schema: jsonSchema(objectId, "input") };
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
  "415": errorResponse("The body is not application/json"),
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
              enum: [...API_ERROR_CODES],
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
  schemas.Tags = { ...jsonSchema(tagsSchema, "input"), description: "Labels given at create; virtform sets virtform:stack, virtform:lineage and virtform:address" };
  const paths: JsonObject = {};
  for (const [collection, kindName] of Object.entries(COLLECTIONS)) {
    const kind = kinds[kindName];
    schemas[`${kindName}Spec`] = jsonSchema(kind.inputs, "input");
    schemas[`${kindName}Outputs`] = jsonSchema(kind.outputs, "output");
    schemas[kindName] = {
      type: "object",
      description: kind.description,
      required: ["id", "name", "spec", "outputs", "tags"],
      properties: {
        id: { type: "string" },
        name: { type: "string" },
        spec: ref(`${kindName}Spec`),
        outputs: ref(`${kindName}Outputs`),
        tags: ref("Tags"),
        unhealthy: { type: "string", description: "On reads, when the emulator cannot serve the object: why (a pool whose LUN files are missing or short)" },
      },
    };
    const one = { description: `The ${kindName}`, content: json(ref(kindName)) };
    paths[`/v1/${collection}`] = {
      get: {
        operationId: `list${kindName}`,
        summary: `List every ${kindName}, or those carrying the tags given`,
        parameters: [
          { name: "tag", in: "query", required: false, description: "KEY=VALUE: only objects with this tag (repeatable: every one)", schema: { type: "array", items: { type: "string" } }, style: "form", explode: true },
        ],
        responses: { "200": { description: "All objects", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: ref(kindName) } } }) }, "401": ERRORS["401"], "422": ERRORS["422"] },
      },
      post: {
        operationId: `create${kindName}`,
        summary: `Create ${withArticle(kindName)}`,
        parameters: [
          { name: "Idempotency-Key", in: "header", required: false, description: "A create retried with the same key returns the object made the first time", schema: { type: "string", maxLength: 256 } },
        ],
        requestBody: { required: true, content: json({ type: "object", required: ["name", "spec"], additionalProperties: false, properties: { name: jsonSchema(objectName, "input"), spec: ref(`${kindName}Spec`), tags: ref("Tags"), secretPaths: SECRET_PATHS } }) },
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
    paths[`/v1/${collection}/{id}/tags`] = {
      parameters: [idParam],
      put: {
        operationId: `tag${kindName}`,
        summary: "Replace the object's tags",
        requestBody: { required: true, content: json(ref("Tags")) },
        responses: { "200": one, "401": ERRORS["401"], "404": ERRORS["404"], "422": ERRORS["422"] },
      },
    };
  }
  paths["/v1/instances/{id}/actions/{action}"] = {
    post: {
      operationId: "instanceAction",
      summary: "Start or stop an instance (sets its declared power state)",
      parameters: [
        idParam,
        { name: "action", in: "path", required: true, schema: { type: "string", enum: ["start", "stop", "reboot"] } },
      ],
      responses: { "200": { description: "The instance", content: json(ref("Instance")) }, ...ERRORS },
    },
  };
  // The data path (only on the emulator itself, not under a rehearsal): bytes of a running instance's devices.
  const offsetParam = { name: "offset", in: "query", required: false, description: "Byte offset (decimal digits); 0 when absent", schema: { type: "integer", minimum: 0 } };
  const bytes = { "application/octet-stream": { schema: { type: "string", format: "binary" } } };
  paths["/v1/instances/{id}/devices/{name}"] = {
    parameters: [
      idParam,
      { name: "name", in: "path", required: true, description: "vda (the local disk) or an attached volume's device (vdb...)", schema: { type: "string" } },
    ],
    get: {
      operationId: "readDevice",
      summary: "Read bytes of a device of a running instance",
      parameters: [
        offsetParam,
        { name: "length", in: "query", required: false, description: `Bytes to read (at most ${MAX_DEVICE_IO_BYTES}); up to the end of the device when absent`, schema: { type: "integer", minimum: 0, maximum: MAX_DEVICE_IO_BYTES } },
      ],
      responses: { "200": { description: "The bytes; header x-device-size gives the device's size", content: bytes }, ...ERRORS },
    },
    put: {
      operationId: "writeDevice",
      summary: "Write bytes to a device of a running instance; answered once they are flushed",
      parameters: [offsetParam, { name: "length", in: "query", required: false, description: "When given, must equal the body's size", schema: { type: "integer", minimum: 0 } }],
      requestBody: { required: true, description: `The bytes, with Content-Type: application/octet-stream (at most ${MAX_DEVICE_IO_BYTES})`, content: bytes },
      responses: { "204": { description: "Written and flushed" }, ...ERRORS, "415": errorResponse("The body is not application/octet-stream") },
    },
  };
  paths["/v1/instances/{id}/local-disk"] = {
    parameters: [idParam],
    get: {
      operationId: "localDiskUsage",
      summary: "The bytes an instance's local disk holds (null without one), running or stopped",
      responses: {
        "200": { description: "Usage", content: json({ type: "object", required: ["writtenBytes"], properties: { writtenBytes: { type: ["integer", "null"] } } }) },
        "401": ERRORS["401"],
        "404": ERRORS["404"],
      },
    },
  };
  paths["/v1/pools/{id}/data"] = {
    parameters: [idParam],
    get: {
      operationId: "poolData",
      summary: "The bytes behind a storage pool: capacity, allocation, use, LUN files and volumes",
      responses: { "200": { description: "Usage", content: json({ type: "object" }) }, "401": ERRORS["401"], "404": ERRORS["404"] },
    },
  };
  paths["/v1/events"] = {
    get: {
      operationId: "listEvents",
      parameters: [{ name: "since", in: "query", required: false, description: "Only events with a larger seq", schema: { type: "integer", minimum: 0 } }],
      responses: { "200": { description: "Events in order", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: ref("Event") } } }) }, "401": ERRORS["401"], "422": ERRORS["422"] },
    },
  };
  paths["/v1/openapi.json"] = {
    get: { operationId: "openApi", summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: json({ type: "object" }) }, "401": ERRORS["401"] } },
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
