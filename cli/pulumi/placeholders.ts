// A Pulumi program learns other resources' outputs only by running. virtform runs it before planning
// and answers each output of a resource not applied yet with a placeholder that names it (resource
// address and output path); passed along unchanged into another resource's inputs or the stack's
// outputs, a placeholder turns back into the engine's Reference, which the native engine resolves at
// apply time. So plan, apply, state and crash safety are the native ones. A program function (apply,
// interpolate) is not run over a placeholder (child-hooks.ts, passes.ts); a placeholder that still
// reached a larger value cannot be turned back: that is reported, not guessed.
import type { z } from "zod";
import type { Reference, Value } from "../../core/model.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";

const PREFIX = "\u0000virtform-pulumi-ref:";

export function placeholder(address: string, path: string): string {
  return PREFIX + JSON.stringify({ $ref: address, path });
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/**
 * What a registered resource reports to the program: its inputs, then a placeholder for its id and for
 * each output. An output that is a map keyed like the input of the same name (an image's variants)
 * gets the input's keys, so `image.variants.apply((v) => v.heavy.digest)` reaches a placeholder.
 */
export function placeholderProperties(kind: KindName, address: string, inputs: Record<string, Value>): { id: string; properties: Record<string, Value> } {
  const properties: Record<string, Value> = { ...inputs };
  for (const [field, schema] of Object.entries(kinds[kind].outputs.shape as Record<string, z.ZodType>)) {
    properties[field] = shaped(schema, address, field, inputs[field]);
  }
  return { id: placeholder(address, "id"), properties };
}

function shaped(schema: z.ZodType, address: string, path: string, input: Value | undefined): Value {
  const def = defOf(schema);
  if (def.type === "default" || def.type === "optional" || def.type === "nullable") return shaped(def.innerType!, address, path, input);
  if (def.type === "object") {
    return Object.fromEntries(Object.entries(def.shape!).map(([key, sub]) => [key, shaped(sub, address, `${path}.${key}`, undefined)]));
  }
  if (def.type === "record" && typeof input === "object" && input !== null && !Array.isArray(input)) {
    return Object.fromEntries(Object.keys(input).map((key) => [key, shaped(def.valueType!, address, `${path}.${key}`, undefined)]));
  }
  return placeholder(address, path);
}

/** A placeholder found where it cannot be turned back: inside a string the program built. */
export interface Embedded {
  /** Dotted path of the value holding it. */
  path: string;
  /** The output it came from, when the placeholder is still readable in the value. */
  reference?: Reference;
}

/** Placeholders back into References; `embedded` collects the ones a program function built into a value. */
export function restoreReferences(value: Value, embedded: Embedded[] = [], path = ""): Value | Reference {
  if (typeof value === "string") {
    if (value.startsWith(PREFIX) && value.indexOf(PREFIX, 1) === -1) {
      try {
        return JSON.parse(value.slice(PREFIX.length)) as Reference;
      } catch {
        // a placeholder with text after it: reported below
      }
    }
    // Every placeholder starts with NUL, which no value a program writes holds: a string with one was
    // computed from a placeholder (concatenated, or transformed past recognition).
    if (value.includes("\u0000")) {
      const at = value.indexOf(PREFIX);
      const match = at === -1 ? null : /^\{"\$ref":"((?:[^"\\]|\\.)*)","path":"((?:[^"\\]|\\.)*)"\}/.exec(value.slice(at + PREFIX.length));
      embedded.push(match ? { path, reference: { $ref: JSON.parse(`"${match[1]}"`), path: JSON.parse(`"${match[2]}"`) } } : { path });
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => restoreReferences(item, embedded, `${path}[${i}]`)) as Value;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreReferences(v, embedded, path ? `${path}.${k}` : k)])) as Value;
  }
  return value;
}
