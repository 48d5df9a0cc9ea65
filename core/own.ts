// Reading a record by a key someone else chose. `record[key]` finds what Object.prototype has under
// that key too ("constructor", "toString", "__proto__"), so an unknown key would look like a hit.
/** `record[key]` when the record itself holds `key`; undefined otherwise (never an inherited value). */
export function own<T>(record: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return record != null && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A copy of `record` without a prototype: its keys can be read and written as plain data, any key. */
export function nullPrototype<T>(record: Readonly<Record<string, T>> | null | undefined): Record<string, T> {
  const copy = Object.create(null) as Record<string, T>;
  // defineProperty, not assignment: a key "__proto__" is data, not the prototype.
  for (const [key, value] of Object.entries(record ?? {})) Object.defineProperty(copy, key, { value, writable: true, enumerable: true, configurable: true });
  return copy;
}

/** `record[key] = value`, as an own property even when the key is "__proto__" (data, not the prototype). */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** The message for a key "__proto__" in a program's or a configuration's values, said the same by every front door. */
export const PROTO_KEY_REFUSED = 'the key "__proto__" cannot be used: JavaScript reserves it, and the kinds\' schemas would drop it without a word';

/** The path to the first own "__proto__" key in plain data (objects and arrays), if there is one. */
export function protoKeyPath(value: unknown): (string | number)[] | undefined {
  const reversed = protoKeyPathReversed(value);
  return reversed?.reverse();
}

/** The path from the key up (built only on the way back from a find: nothing is allocated otherwise). */
function protoKeyPathReversed(value: unknown): (string | number)[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = protoKeyPathReversed(value[i]);
      if (found) return (found.push(i), found);
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  if (Object.hasOwn(value, "__proto__")) return ["__proto__"];
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const found = protoKeyPathReversed((value as Record<string, unknown>)[key]);
    if (found) return (found.push(key), found);
  }
  return undefined;
}
