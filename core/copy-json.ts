// A deep copy of data that lives as JSON (state, the emulator's document, specs). structuredClone
// does the same through a serializer, several times slower on the many small objects a plan of
// thousands of resources copies. Anything that is not plain data is left to structuredClone.
import { setOwn } from "./own.ts";

export function copyJson<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own key; an assignment would set the prototype instead.
    setOwn(copy, key, item);
  }
  return copy as T;
}
