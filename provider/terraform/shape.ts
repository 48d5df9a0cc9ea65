// A Terraform value's shape: the type Terraform sees (string, list, nested object, ...) together with
// the kind's field name behind each attribute. Derived from the zod kinds' JSON schema (schema.ts);
// the codec reads and writes values by it, and the provider schema is printed from it.
import { setOwn } from "../../core/own.ts";

export type Primitive = "string" | "number" | "bool";

export type Shape =
  | { type: Primitive }
  /** Terraform's "any type": unions and records of them (image config), passed as they are. */
  | { type: "dynamic" }
  | { type: "list" | "map"; element: Shape }
  | { type: "tuple"; elements: Shape[] }
  | { type: "object"; attributes: Record<string, Attribute> };

export interface Attribute {
  /** The kind's field name ("sizeGiB" for Terraform's "size_gib"). */
  field: string;
  shape: Shape;
  description?: string;
  required: boolean;
  optional: boolean;
  computed: boolean;
  sensitive: boolean;
  /** The zod default filled in when the configuration leaves it null. */
  hasDefault: boolean;
}

/** Terraform's JSON type constraint for a shape: "string", ["list","string"], ["object",{...}]. */
export function typeConstraint(shape: Shape): unknown {
  switch (shape.type) {
    case "list":
    case "map":
      return [shape.type, typeConstraint(shape.element)];
    case "tuple":
      return ["tuple", shape.elements.map(typeConstraint)];
    case "object":
      return ["object", Object.fromEntries(Object.entries(shape.attributes).map(([name, a]) => [name, typeConstraint(a.shape)]))];
    default:
      return shape.type;
  }
}

/** The shape of a type constraint Terraform sends with a dynamic value (attribute names kept as they are). */
export function shapeOfConstraint(type: unknown): Shape {
  if (type === "string" || type === "number" || type === "bool" || type === "dynamic") return { type };
  if (Array.isArray(type)) {
    const [kind, argument] = type as [string, unknown];
    if (kind === "list" || kind === "set" || kind === "map") return { type: kind === "map" ? "map" : "list", element: shapeOfConstraint(argument) };
    if (kind === "tuple") return { type: "tuple", elements: (argument as unknown[]).map(shapeOfConstraint) };
    if (kind === "object") {
      const attributes: Record<string, Attribute> = {};
      for (const [name, sub] of Object.entries(argument as Record<string, unknown>)) setOwn(attributes, name, plainAttribute(name, shapeOfConstraint(sub)));
      return { type: "object", attributes };
    }
  }
  throw new Error(`bug: a Terraform type constraint virtform cannot read: ${JSON.stringify(type)}`);
}

/** The shape of a plain value inside a dynamic attribute: objects and tuples, as an HCL literal has. */
export function shapeOfValue(value: unknown): Shape {
  if (typeof value === "string") return { type: "string" };
  if (typeof value === "number") return { type: "number" };
  if (typeof value === "boolean") return { type: "bool" };
  if (Array.isArray(value)) return { type: "tuple", elements: value.map(shapeOfValue) };
  if (typeof value === "object" && value !== null) {
    const attributes: Record<string, Attribute> = {};
    for (const [name, item] of Object.entries(value)) if (item !== undefined) setOwn(attributes, name, plainAttribute(name, shapeOfValue(item)));
    return { type: "object", attributes };
  }
  return { type: "dynamic" };
}

function plainAttribute(name: string, shape: Shape): Attribute {
  return { field: name, shape, required: false, optional: true, computed: false, sensitive: false, hasDefault: false };
}

/** Terraform's attribute names are snake_case: "sizeGiB" -> "size_gib", "hostIds" -> "host_ids". */
export function snakeCase(field: string): string {
  return field
    .replace(/([KMGT])iB/g, (_, p: string) => `_${p.toLowerCase()}ib`)
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/^_/, "");
}
