// The reference of every kind's fields (docs/kinds.md), rendered from the kinds' zod schemas through
// their JSON Schema: type, whether required, default, how a change is applied, whether secret, and
// the description. `npm run docs` writes it; a test fails when the file and the schemas disagree.
import { z } from "zod";
import { kindList } from "./index.ts";
import type { Kind } from "./kind.ts";

/** The part of JSON Schema that zod's toJSONSchema produces for the kinds. */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  default?: unknown;
  description?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
}

interface Field {
  path: string;
  /** The path the kind's change map and secrets use: dotted, without `[]` or `<name>`. */
  key: string;
  schema: Schema;
  required: boolean;
}

export function kindReference(): string {
  const lines = [
    "# Resource kinds",
    "",
    "<!-- Generated from the kinds' zod schemas (sdk/kinds/) by `npm run docs`; do not edit by hand. -->",
    "",
    "Every field a program can set on each kind, and what the emulator reports back. The same schemas",
    "validate programs, the plan and the emulator API ([OpenAPI document](../README.md#the-emulator-http-api)).",
    "",
    "- **Required**: must be given (within its parent object, when the parent is given); a field with a",
    "  default is never required.",
    "- **Change**: what `plan` does when the field changes: `in-place` updates the object as it runs,",
    "  `restart` updates it with a stop and start, `replace` creates a new object and deletes the old one.",
    "- **Secret**: redacted in plans and output, encrypted in state.",
    "- Fields that hold an id (`pool`, `volume`, `cluster`, ...) are filled in by the DSL from the handle",
    "  passed (`pool.volume(...)`, `volume.attachTo(...)`); `[]` is each element of a list, `<name>` each",
    "  key of a map.",
    "",
  ];
  for (const kind of kindList) lines.push(...kindSection(kind));
  return lines.join("\n");
}

function kindSection(kind: Kind): string[] {
  const secrets = new Set(kind.secrets);
  const inputs = fields(toSchema(kind.inputs, "input"));
  const outputs = fields(toSchema(kind.outputs, "output"));
  const lines = [
    `## ${kind.name}`,
    "",
    `${kind.description} Addresses start with \`${kind.addressPrefix}.\`.`,
    "",
    "| Field | Type | Required | Default | Change | Secret | Description |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const f of inputs) {
    const secret = [...secrets].some((s) => f.key === s || f.key.startsWith(`${s}.`));
    lines.push(row([code(f.path), typeOf(f.schema), f.required ? "yes" : "no", f.schema.default === undefined ? "" : code(JSON.stringify(f.schema.default)), kind.changeBehaviour(f.key), secret ? "yes" : "", f.schema.description ?? ""]));
  }
  lines.push("");
  if (outputs.length > 0) {
    lines.push("Outputs:", "", "| Field | Type | Description |", "| --- | --- | --- |");
    for (const f of outputs) lines.push(row([code(f.path), typeOf(f.schema), f.schema.description ?? ""]));
    lines.push("");
  }
  return lines;
}

function toSchema(schema: z.ZodType, io: "input" | "output"): Schema {
  return z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Schema;
}

/** Every field of an object schema, depth first: nested objects, list elements and map values too. */
function fields(object: Schema, prefix = "", keyPrefix = ""): Field[] {
  const out: Field[] = [];
  const required = new Set(object.required ?? []);
  for (const [name, schema] of Object.entries(object.properties ?? {})) {
    const path = `${prefix}${name}`;
    const key = `${keyPrefix}${name}`;
    out.push({ path, key, schema, required: required.has(name) });
    if (schema.properties) out.push(...fields(schema, `${path}.`, `${key}.`));
    else if (schema.items?.properties) out.push(...fields(schema.items, `${path}[].`, `${key}.`));
    else if (typeof schema.additionalProperties === "object" && schema.additionalProperties.properties) {
      out.push(...fields(schema.additionalProperties, `${path}.<name>.`, `${key}.`));
    }
  }
  return out;
}

function typeOf(s: Schema): string {
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeOf).join(" or ");
  if (s.enum) return `one of ${s.enum.map((v) => code(JSON.stringify(v))).join(", ")}`;
  if (s.const !== undefined) return code(JSON.stringify(s.const));
  if (Array.isArray(s.type)) return s.type.join(" or ");
  switch (s.type) {
    case "string":
      return ["string", s.pattern ? `matching ${code(s.pattern)}` : "", lengths(s)].filter(Boolean).join(" ");
    case "integer":
    case "number":
      return [s.type, bounds(s)].filter(Boolean).join(" ");
    case "array":
      return `list of ${s.items ? typeOf(s.items) : "any"}${s.minItems ? ` (at least ${s.minItems})` : ""}`;
    case "object":
      if (typeof s.additionalProperties === "object") return `map of ${typeOf(s.additionalProperties)}`;
      return "object";
    case undefined:
      return "any";
    default:
      return s.type;
  }
}

function bounds(s: Schema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${number(s.minimum)}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${number(s.exclusiveMinimum)}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) parts.push(`≤ ${number(s.maximum)}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${number(s.exclusiveMaximum)}`);
  return parts.join(", ");
}

// Sizes are in GiB, so their bounds are often binary fractions (1 MiB is 0.0009765625 GiB): print
// those as the fraction a reader recognises.
function number(n: number): string {
  if (Number.isInteger(n) || String(n).length <= 6) return String(n);
  const over1024 = n * 1024;
  if (Number.isInteger(over1024)) return `${over1024}/1024`;
  return String(n);
}

function lengths(s: Schema): string {
  if (s.minLength !== undefined && s.maxLength !== undefined) return `(${s.minLength} to ${s.maxLength} characters)`;
  if (s.maxLength !== undefined) return `(at most ${s.maxLength} characters)`;
  if (s.minLength !== undefined && s.minLength > 1) return `(at least ${s.minLength} characters)`;
  if (s.minLength === 1) return "(not empty)";
  return "";
}

const code = (text: string) => `\`${text}\``;

/** A table row; a pipe would end a cell, a newline the row. */
function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replaceAll("|", "\\|").replaceAll("\n", " ")).join(" | ")} |`;
}
