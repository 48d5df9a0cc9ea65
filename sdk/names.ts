// Names in programs and the addresses made of them, defined once: the DSL checks the names a
// program declares with them (resources, instance groups, variants, and stacks, which also name the
// state files, so a stack name can never be a path), and the emulator API the names clients give objects.
import { z } from "zod";

/** A name a program gives a resource, group or variant: lower-case letters, digits and dashes, starting with a letter. */
const WORD = "[a-z][a-z0-9-]*";
/** One member of an instance group: `web/app[0]` (cluster/group[index]). */
const MEMBER = `${WORD}/${WORD}\\[(?:0|[1-9][0-9]*)\\]`;
/** What follows the kind in an address: a name, a member, or an attachment `volume@member` (`volume@name` for other clients). */
const LOCAL = `(?:${MEMBER}|${WORD}(?:@(?:${MEMBER}|${WORD}))?)`;

export const NAME = new RegExp(`^${WORD}$`);
export const NAME_RULE = "use lower-case letters, digits and dashes, starting with a letter";

/**
 * The name an object carries in the emulator: the address the engine created it for (or, for other
 * clients, the same without the kind). No control characters, direction overrides or lone surrogates
 * can hide in it, so `emulator inspect` and logs show what is there.
 */
export const objectName = z
  .string()
  .min(1)
  .max(256)
  .regex(
    new RegExp(`^(?:${WORD}\\.)?${LOCAL}$`),
    `expected an address like volume.data, instances.web/app[0] or attachment.data@web/app[0] (names: ${NAME_RULE})`,
  );


const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const stackName = z
  .string({ error: (issue) => `a stack name must be a string, got ${describeValue(issue.input)}` })
  .max(100, "a stack name has at most 100 characters")
  .regex(STACK_NAME, "a stack name uses letters, digits, dots, dashes and underscores, starting with a letter or digit");

/** A name as text for an address and a message, whatever the program passed. */
export function nameText(value: unknown): string {
  if (typeof value !== "string") return describeValue(value);
  // A name that will be refused anyway is shown escaped and short: it may hold NUL or newlines.
  return /^[\x20-\x7e]{0,64}$/.test(value) ? value : JSON.stringify(value.slice(0, 64)).slice(1, -1);
}

/** A value a program passed, shown in a message: short, and never a throw (Symbols, BigInts, null prototypes). */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
    case "symbol":
      return `a Symbol(${value.description ?? ""})`;
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object": {
      if (value === null) return "null";
      try {
        if (Array.isArray(value)) return "an array";
        const proto: unknown = Object.getPrototypeOf(value);
        const name = proto === null ? undefined : (proto as { constructor?: { name?: unknown } }).constructor?.name;
        if (typeof name !== "string" || name === "Object") return "an object";
        return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
      } catch {
        return "an object"; // a proxy that refuses to be inspected
      }
    }
    default:
      return String(value);
  }
}
