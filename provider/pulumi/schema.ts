// The Pulumi package schema, derived from the zod kinds (z.toJSONSchema): one resource token per
// kind, nested objects as named types, enums as enum types, descriptions, required fields, primitive
// defaults, secrets (kind.secrets) and replace-on-changes fields (kind.change "replace").
// `npm run gen:pulumi` writes it to provider/pulumi/schema.json; the plugin serves it.
import { deepEqual } from "../../core/values.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import type { Kind } from "../../sdk/kinds/kind.ts";
import { PACKAGE, moduleOf, tokenOf } from "./tokens.ts";
import { imageVariants } from "./variants.ts";
import { kindJsonSchema } from "../kind-json-schema.ts";

/** A Pulumi schema type reference (the parts we use). */
export interface TypeSpec {
  type?: "string" | "number" | "integer" | "boolean" | "array" | "object";
  items?: TypeSpec;
  additionalProperties?: TypeSpec;
  $ref?: string;
  oneOf?: TypeSpec[];
}

export interface PropertySpec extends TypeSpec {
  description?: string;
  default?: string | number | boolean;
  secret?: boolean;
  willReplaceOnChanges?: boolean;
}

export interface ObjectTypeSpec {
  type: "object";
  description?: string;
  properties: Record<string, PropertySpec>;
  required?: string[];
}

export interface EnumTypeSpec {
  type: "string";
  enum: { value: string }[];
}

export interface ResourceSpec {
  description: string;
  properties: Record<string, PropertySpec>;
  required: string[];
  inputProperties: Record<string, PropertySpec>;
  requiredInputs: string[];
  language?: { nodejs?: { variants?: typeof imageVariants } };
}

export interface PackageSchema {
  name: string;
  displayName: string;
  version: string;
  description: string;
  license: string;
  meta: { moduleFormat: string };
  config: { variables: Record<string, PropertySpec> };
  provider: { description: string; inputProperties: Record<string, PropertySpec> };
  types: Record<string, ObjectTypeSpec | EnumTypeSpec>;
  resources: Record<string, ResourceSpec>;
}

/** How the plugin reaches a backend; the same settings as the CLI's --endpoint / VIRTFORM_TOKEN / emulator data dir. */
export const configVariables: Record<string, PropertySpec> = {
  endpoint: {
    type: "string",
    description: "URL of a served emulator (virtform emulator serve); the embedded emulator when absent. Default $VIRTFORM_ENDPOINT.",
  },
  token: { type: "string", secret: true, description: "Bearer token for the endpoint. Default $VIRTFORM_TOKEN." },
  dataDir: {
    type: "string",
    description: "Data directory of the embedded emulator when no endpoint is set. Default ./.virtform/emulator.",
  },
};

type Json = { [key: string]: unknown };

export function pulumiSchema(version: string): PackageSchema {
  const types: PackageSchema["types"] = {};
  const resources: PackageSchema["resources"] = {};
  for (const name of Object.keys(kinds) as KindName[]) {
    const kind: Kind = kinds[name];
    const namer = new TypeNamer(types, name);
    const inputs = objectProperties(kindJsonSchema(kind, "inputs", "input"), namer, "input");
    const outputs = objectProperties(kindJsonSchema(kind, "outputs", "output"), namer, "output");
    // A resource's state is its inputs (defaults applied) and its outputs; an output wins a shared name.
    const stateSchema = kindJsonSchema(kind, "inputs", "output");
    const shadowed = new Set(Object.keys(outputs.properties));
    stateSchema.properties = Object.fromEntries(Object.entries(stateSchema.properties as Json).filter(([field]) => !shadowed.has(field)));
    stateSchema.required = (stateSchema.required as string[]).filter((field) => !shadowed.has(field));
    const stateOfInputs = objectProperties(stateSchema, namer, "output");
    markTopLevel(kind, inputs.properties);
    markTopLevel(kind, stateOfInputs.properties);
    const properties = { ...stateOfInputs.properties, ...outputs.properties };
    resources[tokenOf(name)] = {
      description: kind.description,
      properties,
      required: [...new Set([...stateOfInputs.required, ...outputs.required])].sort(),
      inputProperties: inputs.properties,
      requiredInputs: inputs.required,
      ...(name === "Image" ? { language: { nodejs: { variants: imageVariants } } } : {}),
    };
  }
  return {
    name: PACKAGE,
    displayName: "virtform",
    version,
    description: "Virtualized compute (clusters, images with variants, storage pools, volumes) on virtform's emulator",
    license: "Apache-2.0",
    meta: { moduleFormat: "(.*)" },
    config: { variables: configVariables },
    provider: { description: "The virtform provider: the embedded emulator or a served one.", inputProperties: configVariables },
    types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b))),
    resources,
  };
}

/** Secret and replace-on-changes flags of a kind's top-level fields. */
function markTopLevel(kind: Kind, properties: Record<string, PropertySpec>): void {
  for (const [field, spec] of Object.entries(properties)) {
    if (kind.secrets.includes(field)) spec.secret = true;
    if (kind.changeBehaviour(field) === "replace") spec.willReplaceOnChanges = true;
  }
}

/** Names nested types after their kind and path ("ClusterHosts"); a clash with a different shape gets "Output". */
class TypeNamer {
  private readonly types: PackageSchema["types"];
  private readonly kind: KindName;

  constructor(types: PackageSchema["types"], kind: KindName) {
    this.types = types;
    this.kind = kind;
  }

  register(path: string[], spec: ObjectTypeSpec | EnumTypeSpec, side: "input" | "output"): string {
    // One enum, one type: the same values under another path reuse the first name.
    if ("enum" in spec) {
      for (const [token, existing] of Object.entries(this.types)) if (deepEqual(existing, spec)) return token;
    }
    const base = `${PACKAGE}:${moduleOf[this.kind]}:${this.kind}${path.map(pascal).join("")}`;
    for (const token of side === "output" ? [base, `${base}Output`] : [base]) {
      const existing = this.types[token];
      if (!existing || deepEqual(existing, spec)) {
        this.types[token] = spec;
        return token;
      }
    }
    throw new Error(`bug: two shapes for the Pulumi type ${base}`);
  }
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function objectProperties(
  schema: Json,
  namer: TypeNamer,
  side: "input" | "output",
  path: string[] = [],
): { properties: Record<string, PropertySpec>; required: string[] } {
  const properties: Record<string, PropertySpec> = {};
  for (const [field, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    properties[field] = property(sub, namer, side, [...path, field]);
  }
  return { properties, required: [...((schema.required as string[] | undefined) ?? [])] };
}

function property(schema: Json, namer: TypeNamer, side: "input" | "output", path: string[]): PropertySpec {
  const spec: PropertySpec = { ...typeOf(schema, namer, side, path) };
  if (typeof schema.description === "string") spec.description = schema.description;
  const value = schema.default;
  // Pulumi schemas carry primitive defaults only; nested objects carry their own fields' defaults.
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") spec.default = value;
  return spec;
}

function typeOf(schema: Json, namer: TypeNamer, side: "input" | "output", path: string[]): TypeSpec {
  if (Array.isArray(schema.enum)) {
    const token = namer.register(path, { type: "string", enum: (schema.enum as string[]).map((value) => ({ value })) }, side);
    return { $ref: `#/types/${token}` };
  }
  if (Array.isArray(schema.type)) return { oneOf: (schema.type as string[]).map((t) => typeOf({ type: t }, namer, side, path)) };
  if (Array.isArray(schema.anyOf)) return { oneOf: (schema.anyOf as Json[]).map((s) => typeOf(s, namer, side, path)) };
  switch (schema.type) {
    case "string":
    case "number":
    case "integer":
    case "boolean":
      return { type: schema.type };
    case "array":
      return { type: "array", items: typeOf(schema.items as Json, namer, side, path) };
    case "object": {
      if (schema.properties) {
        const { properties, required } = objectProperties(schema, namer, side, path);
        const type: ObjectTypeSpec = { type: "object", properties, ...(required.length > 0 ? { required } : {}) };
        return { $ref: `#/types/${namer.register(path, type, side)}` };
      }
      const values = schema.additionalProperties;
      return { type: "object", additionalProperties: values && typeof values === "object" ? typeOf(values as Json, namer, side, path) : { type: "string" } };
    }
    default:
      throw new Error(`bug: no Pulumi type for the JSON schema ${JSON.stringify(schema)} at ${path.join(".")}`);
  }
}
