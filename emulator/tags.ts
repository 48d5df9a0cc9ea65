// Tags: short key/value labels a client puts on an object when it creates it (virtform puts the
// stack, its state's lineage and the object's address), kept for the object's life and answered
// with it. A list can be filtered by tags, so a client can find what it made without its own records.
import { z } from "zod";

/** Keys are plain labels (no `__proto__`-style surprises); values are short text. */
export const tagsSchema = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9:._/-]{0,127}$/, "a tag key is a letter then letters, digits or : . _ / - (at most 128)"), z.string().max(1024))
  .refine((tags) => Object.keys(tags).length <= 32, "at most 32 tags");

export type Tags = Record<string, string>;

/** Whether `tags` has every key of `filter` with the same value. */
export function matchesTags(tags: Tags | undefined, filter: Tags): boolean {
  for (const [key, value] of Object.entries(filter)) if (!tags || !Object.hasOwn(tags, key) || tags[key] !== value) return false;
  return true;
}
