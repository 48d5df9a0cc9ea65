// The ids the emulator gives objects, `<prefix>-<hex counter>` (`pool-00000a`): minted here and
// checked here, so a request naming anything else is answered before any lookup.
import { z } from "zod";

const ID = /^[a-z]+-[0-9a-f]{6,14}$/; // up to 14 hex digits: any safe integer

export function formatId(prefix: string, n: number): string {
  return `${prefix}-${n.toString(16).padStart(6, "0")}`;
}

export function isObjectId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

export const objectId = z.string().regex(ID, "expected an object id like pool-00000a");
