// What a URL carries, checked before anything is looked up: object ids in the path and whole
// numbers in the query. A lookup never sees a key like "__proto__" or "constructor", and `?offset=`
// or `?offset=0x10` is refused rather than read as 0 or 16.
import { z } from "zod";
import { EmulatorError } from "../errors.ts";
import { isObjectId } from "../ids.ts";

/** The id in a path; anything that is not an id names no object (404). */
export function pathId(value: string, what: string): string {
  if (!isObjectId(value)) throw new EmulatorError("not-found", `${what} ${JSON.stringify(value)} does not exist (not an id the emulator gives)`);
  return value;
}

/** A whole number in plain decimal digits, at most `max`. */
export const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, "expected a whole number in decimal digits")
    .transform(Number)
    .pipe(z.number().max(max, `at most ${max}`));

/** A query parameter checked with `schema`; undefined when absent, a 422 naming it when bad or repeated. */
export function queryNumber(value: unknown, name: string, schema: z.ZodType<number, string>): number | undefined {
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw new EmulatorError("invalid", `${name}: ${result.error.issues[0]?.message ?? "invalid"} (got ${JSON.stringify(value)})`);
  return result.data;
}
