// Pulumi's wire values <-> the engine's Values. On the wire (google.protobuf.Struct) an unknown is a
// marker string and a secret an object under a signature key; the engine says UNKNOWN and keeps
// secrets as a list of paths. The plugin converts at its edge; virtform's own resource monitor (next)
// will reuse the same functions.
import { UNKNOWN, isUnknown, type Value } from "../../core/model.ts";
import { mapPaths } from "../../core/values.ts";

/** Pulumi's "known after apply" in preview. */
export const UNKNOWN_MARKER = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key that marks a special object, and its value for a secret. */
export const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

export interface Unwrapped {
  values: Record<string, Value>;
  /** Dotted paths of the values that arrived as secrets (array elements make the whole array secret). */
  secretPaths: string[];
}

/** Wire properties -> engine values: markers become UNKNOWN, secrets are unwrapped and their paths kept. */
export function fromWire(properties: Record<string, unknown> | undefined): Unwrapped {
  const secretPaths: string[] = [];
  const values = convert(properties ?? {}, "", secretPaths) as Record<string, Value>;
  return { values, secretPaths: [...new Set(secretPaths)] };
}

function convert(value: unknown, path: string, secrets: string[]): unknown {
  if (value === UNKNOWN_MARKER) return UNKNOWN;
  if (Array.isArray(value)) return value.map((item) => convert(item, path, secrets));
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record[SIGNATURE_KEY] === SECRET_SIGNATURE) {
    secrets.push(path.split("[")[0]!);
    return convert(record.value, path, secrets);
  }
  return Object.fromEntries(
    Object.entries(record)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => [key, convert(item, path ? `${path}.${key}` : key, secrets)]),
  );
}

/**
 * Engine values -> wire properties: UNKNOWN becomes the marker, the values at `secretPaths` are wrapped
 * as secrets, and undefined fields are dropped (Struct.fromJavaScript throws on them).
 */
export function toWire(values: Record<string, unknown>, secretPaths: readonly string[] = []): Record<string, unknown> {
  const plain = strip(values) as Record<string, Value>;
  // Wrap each value once: a path inside another secret path is already covered.
  const outermost = [...new Set(secretPaths)].filter((path) => !secretPaths.some((other) => path.startsWith(`${other}.`)));
  return mapPaths(plain, outermost, (v) => ({ [SIGNATURE_KEY]: SECRET_SIGNATURE, value: v }) as unknown as Value);
}

function strip(value: unknown): unknown {
  if (isUnknown(value)) return UNKNOWN_MARKER;
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : strip(item)));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, strip(item)]));
}
