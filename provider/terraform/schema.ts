// The Terraform schema of each kind, derived from its zod schemas (z.toJSONSchema): one resource type
// per kind ("virtform_storage_pool"), snake_case attribute names, descriptions, required inputs,
// optional+computed inputs where zod has a default, computed outputs, sensitive secrets; an output
// that shares its input's name and type is the same attribute (an attachment's device), one of another
// type is named "<name>_output" (an image's built variants). Which changes replace is the kind's
// `change` map, said per plan (PlanResourceChange's requires_replace), as the protocol wants.
import { deepEqual } from "../../core/values.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import { kindJsonSchema, type JsonSchema } from "../kind-json-schema.ts";
import { configVariables } from "../pulumi/schema.ts";
import { snakeCase, typeConstraint, type Attribute, type Shape } from "./shape.ts";

export interface TopAttribute extends Attribute {
  /**
   * Which part of the resource it holds: the backend's id, an input, an output, an input the backend
   * completes, or a setting of the provider's own that the backend never sees (an image's lock_key).
   */
  side: "id" | "input" | "output" | "both" | "setting";
}

export interface ResourceSchema {
  typeName: string;
  kind: KindName;
  description: string;
  attributes: Record<string, TopAttribute>;
}

type Json = JsonSchema;

export const PROVIDER = "virtform";

export function typeNameOf(kind: KindName): string {
  return `${PROVIDER}_${snakeCase(kind)}`;
}

export function resourceSchemas(): Map<string, ResourceSchema> {
  return new Map((Object.keys(kinds) as KindName[]).map((kind) => [typeNameOf(kind), resourceSchema(kind)]));
}

export function resourceSchema(kind: KindName): ResourceSchema {
  const definition = kinds[kind];
  const attributes: Record<string, TopAttribute> = {
    id: { field: "id", side: "id", shape: { type: "string" }, description: "Id of the object in the backend", required: false, optional: false, computed: true, sensitive: false, hasDefault: false },
  };
  const inputs = objectAttributes(kindJsonSchema(definition, "inputs", "input"), "input");
  for (const [name, attribute] of Object.entries(inputs)) {
    attributes[name] = { ...attribute, side: "input", sensitive: definition.secrets.includes(attribute.field) };
  }
  const outputs = objectAttributes(kindJsonSchema(definition, "outputs", "output"), "output");
  for (const [name, attribute] of Object.entries(outputs)) {
    const input = attributes[name];
    if (!input) attributes[name] = { ...attribute, side: "output" };
    else if (deepEqual(typeConstraint(input.shape), typeConstraint(attribute.shape))) attributes[name] = { ...input, side: "both", computed: true };
    else attributes[`${name}_output`] = { ...attribute, side: "output" };
  }
  if (kind === "Image") lockAttributes(attributes);
  for (const name of Object.keys(attributes)) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bug: ${kind}'s field becomes the Terraform attribute ${name}, not a valid name`);
  }
  return { typeName: typeNameOf(kind), kind, description: definition.description, attributes };
}

/**
 * An image's locked package sets come from virtform.lock, as for a native program, whose entries are
 * keyed by the program's address ("image.appserver"): Terraform never tells a provider a resource's
 * address, so the image names its entry (lock_key), and `locked` is the provider's to fill (computed),
 * never written, as a program may not write it either.
 */
function lockAttributes(attributes: Record<string, TopAttribute>): void {
  attributes.locked = { ...attributes.locked!, required: false, optional: false, computed: true };
  attributes.lock_key = {
    field: "lockKey",
    side: "setting",
    shape: { type: "string" },
    description: `The image's entry in the provider's lockfile, as a native program's address names it ("image.appserver"): its variants get the locked package sets`,
    required: false,
    optional: true,
    computed: false,
    sensitive: false,
    hasDefault: false,
  };
}

/**
 * The provider block: the same settings as the CLI's --endpoint / VIRTFORM_TOKEN / emulator data dir,
 * and the lock the images' lock_key entries are read from.
 */
export const providerAttributes: Record<string, Attribute> = {
  ...Object.fromEntries(
    Object.entries(configVariables).map(([field, spec]) => [
      snakeCase(field),
      { field, shape: { type: "string" }, description: spec.description, required: false, optional: true, computed: false, sensitive: spec.secret === true, hasDefault: false },
    ]),
  ),
  lockfile: {
    field: "lockfile",
    shape: { type: "string" },
    description: "The virtform.lock images with a lock_key are locked by, relative to Terraform's working directory (default: virtform.lock there, when there is one)",
    required: false,
    optional: true,
    computed: false,
    sensitive: false,
    hasDefault: false,
  },
};

export function objectAttributes(schema: Json, side: "input" | "output"): Record<string, Attribute> {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const attributes: Record<string, Attribute> = {};
  for (const [field, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    const name = snakeCase(field);
    if (attributes[name]) throw new Error(`bug: two fields become the Terraform attribute ${name}`);
    const hasDefault = side === "input" && "default" in sub;
    attributes[name] = {
      field,
      shape: shapeOf(sub, side),
      ...(typeof sub.description === "string" ? { description: sub.description } : {}),
      required: side === "input" && required.has(field),
      optional: side === "input" && !required.has(field),
      computed: side === "output" || hasDefault,
      sensitive: false,
      hasDefault,
    };
  }
  return attributes;
}

function shapeOf(schema: Json, side: "input" | "output"): Shape {
  if (Array.isArray(schema.enum)) return { type: "string" };
  if (Array.isArray(schema.type) || Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) return { type: "dynamic" };
  switch (schema.type) {
    case "string":
      return { type: "string" };
    case "number":
    case "integer":
      return { type: "number" };
    case "boolean":
      return { type: "bool" };
    case "array":
      return { type: "list", element: shapeOf(schema.items as Json, side) };
    case "object": {
      if (schema.properties) return { type: "object", attributes: objectAttributes(schema, side) };
      const values = schema.additionalProperties;
      if (!values || typeof values !== "object") return { type: "object", attributes: {} };
      const element = shapeOf(values as Json, side);
      // A map's elements share one type; dynamic ones need not, so the whole map is dynamic.
      return containsDynamic(element) ? { type: "dynamic" } : { type: "map", element };
    }
    default:
      return { type: "dynamic" };
  }
}

function containsDynamic(shape: Shape): boolean {
  switch (shape.type) {
    case "dynamic":
      return true;
    case "list":
    case "map":
      return containsDynamic(shape.element);
    case "tuple":
      return shape.elements.some(containsDynamic);
    case "object":
      return Object.values(shape.attributes).some((a) => containsDynamic(a.shape));
    default:
      return false;
  }
}

// ---- The tfplugin6 Schema messages (plain objects for the protobuf encoder) ----

const NESTING = { SINGLE: 1, LIST: 2, MAP: 4 } as const;

export function schemaMessage(attributes: Record<string, Attribute>, description: string): unknown {
  return { version: 0, block: { version: 0, description, description_kind: 0, attributes: Object.entries(attributes).map(([name, a]) => attributeMessage(name, a)) } };
}

function attributeMessage(name: string, attribute: Attribute): unknown {
  const flags = {
    name,
    description: attribute.description ?? "",
    required: attribute.required,
    optional: attribute.optional,
    computed: attribute.computed,
    sensitive: attribute.sensitive,
  };
  // What a configuration writes as an object is a nested attribute, so that each of its fields is
  // required or optional on its own; what only the backend writes (computed) is a plain typed value.
  const nested = attribute.required || attribute.optional ? nestedType(attribute.shape) : undefined;
  if (nested) return { ...flags, nested_type: nested };
  return { ...flags, type: Buffer.from(JSON.stringify(typeConstraint(attribute.shape))) };
}

function nestedType(shape: Shape): unknown {
  if (shape.type === "object" && Object.keys(shape.attributes).length > 0) {
    return { nesting: NESTING.SINGLE, attributes: Object.entries(shape.attributes).map(([name, a]) => attributeMessage(name, a)) };
  }
  if ((shape.type === "list" || shape.type === "map") && shape.element.type === "object" && Object.keys(shape.element.attributes).length > 0) {
    const attributes = Object.entries(shape.element.attributes).map(([name, a]) => attributeMessage(name, a));
    return { nesting: shape.type === "list" ? NESTING.LIST : NESTING.MAP, attributes };
  }
  return undefined;
}
