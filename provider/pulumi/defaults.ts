// A kind's defaults filled into inputs that zod cannot parse yet because some values are unknown
// (preview): without them, Diff would see "overcommit: absent -> {cpu: 1, memory: 1}" as a change.
import type { z } from "zod";
import { copyJson } from "../../core/copy-json.ts";
import { isUnknown, type Value } from "../../core/model.ts";
import { deepEqual } from "../../core/values.ts";

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}

export function fillDefaults(schema: z.ZodType, value: Value | undefined): Value | undefined {
  const def = defOf(schema);
  if (isUnknown(value)) return value;
  switch (def.type) {
    case "default":
      return value === undefined ? (copyJson(def.defaultValue) as Value) : fillDefaults(def.innerType!, value);
    case "optional":
    case "nullable":
      return value === undefined || value === null ? value : fillDefaults(def.innerType!, value);
    case "object": {
      if (!isRecord(value)) return value;
      const filled: Record<string, Value> = { ...value };
      for (const [field, sub] of Object.entries(def.shape!)) {
        const v = fillDefaults(sub, value[field]);
        if (v !== undefined) filled[field] = v;
      }
      return filled;
    }
    case "record":
      return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDefaults(def.valueType!, v) ?? v])) : value;
    default:
      return value;
  }
}

/**
 * The inverse of fillDefaults below the value itself: every nested field equal to its default left out
 * (the value as a configuration most often writes it). The value's own default is not compared.
 */
export function withoutNestedDefaults(schema: z.ZodType, value: Value): Value {
  const def = defOf(schema);
  if (isUnknown(value)) return value;
  switch (def.type) {
    case "default":
    case "optional":
    case "nullable":
      return value === null ? value : withoutNestedDefaults(def.innerType!, value);
    case "object": {
      if (!isRecord(value)) return value;
      const kept: Record<string, Value> = {};
      for (const [field, v] of Object.entries(value)) {
        const sub = def.shape![field];
        const subDef = sub && defOf(sub);
        if (subDef?.type === "default" && deepEqual(v, subDef.defaultValue as Value)) continue;
        kept[field] = sub ? withoutNestedDefaults(sub, v) : v;
      }
      return kept;
    }
    case "record":
      return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNestedDefaults(def.valueType!, v)])) : value;
    default:
      return value;
  }
}

/** The schema of an object schema's field (through default, optional and nullable wrappers). */
export function fieldSchema(schema: z.ZodType, field: string): z.ZodType | undefined {
  const def = defOf(schema);
  if (def.type === "default" || def.type === "optional" || def.type === "nullable") return fieldSchema(def.innerType!, field);
  return def.type === "object" && Object.hasOwn(def.shape!, field) ? def.shape![field] : undefined;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function isRecord(value: Value | undefined): value is Record<string, Value> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
