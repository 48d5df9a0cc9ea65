// Names in programs and the addresses made of them, defined once: the DSL checks the names a
// program declares with them, and the emulator API the names clients give objects.
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
