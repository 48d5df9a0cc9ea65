// A kind's defaults filled into inputs that zod cannot parse yet because some values are unknown
// (preview): without them, Diff would see "overcommit: absent -> {cpu: 1, memory: 1}" as a change.
import type { z } from "zod";
import { isUnknown, type Value } from "../../core/model.ts";

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}

export function fillDefaults(schema: z.ZodType, value: Value | undefined): Value | undefined {
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  if (isUnknown(value)) return value;
  switch (def.type) {
    case "default":
      return value === undefined ? (structuredClone(def.defaultValue) as Value) : fillDefaults(def.innerType!, value);
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

function isRecord(value: Value | undefined): value is Record<string, Value> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
