// Terraform values <-> the kinds' values, by shape: attribute names become field names ("size_gib" ->
// "sizeGiB"), null becomes absent, MessagePack's unknown (any extension) becomes the engine's UNKNOWN,
// and a dynamic value travels with its type ([type JSON, value] in MessagePack, {value, type} in JSON).
import { UNKNOWN, isUnknown, type Value } from "../../core/model.ts";
import { setOwn } from "../../core/own.ts";
import { UNKNOWN_EXTENSION, isExtension, type Packed } from "./msgpack.ts";
import { shapeOfConstraint, shapeOfValue, typeConstraint, type Shape } from "./shape.ts";

/** A kind's value as the engine holds it; undefined is "null in Terraform". */
export type Decoded = Value | undefined;

/** A MessagePack value of this shape. */
export function fromPacked(packed: Packed | undefined, shape: Shape): Decoded {
  if (packed === null || packed === undefined) return undefined;
  if (isExtension(packed)) return UNKNOWN as unknown as Value;
  switch (shape.type) {
    case "string":
    case "bool":
      return packed as Value;
    case "number":
      return typeof packed === "string" ? Number(packed) : (packed as number);
    case "dynamic": {
      const [type, value] = packed as [Uint8Array, Packed];
      return fromPacked(value, shapeOfConstraint(JSON.parse(new TextDecoder().decode(type))));
    }
    case "list":
      return (packed as Packed[]).map((item) => fromPacked(item, shape.element) ?? null);
    case "tuple":
      return (packed as Packed[]).map((item, i) => fromPacked(item, shape.elements[i]!) ?? null);
    case "map":
      return mapValues(packed as Record<string, Packed>, (item) => fromPacked(item, shape.element));
    case "object": {
      const record = packed as Record<string, Packed>;
      const out: Record<string, Value> = {};
      for (const [name, attribute] of Object.entries(shape.attributes)) {
        const value = fromPacked(record[name], attribute.shape);
        if (value !== undefined) setOwn(out, attribute.field, value);
      }
      return out;
    }
  }
}

/** A JSON value of this shape, as Terraform stores state (UpgradeResourceState) or sends a DynamicValue's json. */
export function fromJson(json: unknown, shape: Shape): Decoded {
  if (json === null || json === undefined) return undefined;
  switch (shape.type) {
    case "string":
    case "bool":
      return json as Value;
    case "number":
      return typeof json === "string" ? Number(json) : (json as number);
    case "dynamic": {
      const { value, type } = json as { value: unknown; type: unknown };
      return fromJson(value, shapeOfConstraint(type));
    }
    case "list":
      return (json as unknown[]).map((item) => fromJson(item, shape.element) ?? null);
    case "tuple":
      return (json as unknown[]).map((item, i) => fromJson(item, shape.elements[i]!) ?? null);
    case "map":
      return mapValues(json as Record<string, unknown>, (item) => fromJson(item, shape.element));
    case "object": {
      const record = json as Record<string, unknown>;
      const out: Record<string, Value> = {};
      for (const [name, attribute] of Object.entries(shape.attributes)) {
        const value = fromJson(record[name], attribute.shape);
        if (value !== undefined) setOwn(out, attribute.field, value);
      }
      return out;
    }
  }
}

/** The MessagePack value of this shape: every attribute present (null when absent), as Terraform requires. */
export function toPacked(value: unknown, shape: Shape): Packed {
  if (value === undefined || value === null) return null;
  if (isUnknown(value)) return UNKNOWN_EXTENSION;
  switch (shape.type) {
    case "string":
    case "bool":
    case "number":
      return value as Packed;
    case "dynamic": {
      const actual = shapeOfValue(value);
      return [new TextEncoder().encode(JSON.stringify(typeConstraint(actual))), toPacked(value, actual)];
    }
    case "list":
      return (value as unknown[]).map((item) => toPacked(item, shape.element));
    case "tuple":
      return (value as unknown[]).map((item, i) => toPacked(item, shape.elements[i]!));
    case "map":
      return mapValues(value as Record<string, unknown>, (item) => toPacked(item, shape.element)) as Packed;
    case "object": {
      const record = value as Record<string, unknown>;
      const out: Record<string, Packed> = {};
      for (const [name, attribute] of Object.entries(shape.attributes)) setOwn(out, name, toPacked(record[attribute.field], attribute.shape));
      return out;
    }
  }
}

function mapValues<T, U>(record: Record<string, T>, fn: (item: T) => U | undefined): Record<string, U> {
  const out: Record<string, U> = {};
  for (const [key, item] of Object.entries(record)) {
    const value = fn(item);
    if (value !== undefined) setOwn(out, key, value);
  }
  return out;
}
