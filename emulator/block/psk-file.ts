// Pre-shared keys for NBD over TLS, in the file format GnuTLS's `psktool` writes (`username:hexkey`,
// one a line): the format qemu's `tls-creds-psk` object reads from `<dir>/keys.psk`, nbdkit's
// `--tls-psk=FILE` and libnbd's `tls-psk-file=` read too.

import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../../durable/write-file-atomic.ts";
import { join } from "node:path";

export interface PskCredentials {
  /** The PSK identity (psktool's "username"). */
  identity: string;
  key: Buffer;
}

/** The file name qemu's tls-creds-psk looks for in its `dir`. */
export const PSK_FILE_NAME = "keys.psk";
export const DEFAULT_PSK_IDENTITY = "virtform";
/** psktool's default key size. */
const KEY_BYTES = 32;

export function generatePsk(identity = DEFAULT_PSK_IDENTITY): PskCredentials {
  return { identity, key: randomBytes(KEY_BYTES) };
}

export function formatPskFile(psk: PskCredentials): string {
  return `${psk.identity}:${psk.key.toString("hex")}\n`;
}

/** The first entry of a psktool file; throws an Error naming the file and line if it is malformed. */
export function parsePskFile(text: string, path: string): PskCredentials {
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([^:\s]+):([0-9a-fA-F]+)$/.exec(line);
    if (match === null || (match[2] as string).length % 2 !== 0) {
      throw new Error(`${path}:${i + 1}: expected "identity:hexkey" (as psktool writes it)`);
    }
    const key = Buffer.from(match[2] as string, "hex");
    if (key.length < 16) throw new Error(`${path}:${i + 1}: the key has ${key.length} bytes; use at least 16`);
    return { identity: match[1] as string, key };
  }
  throw new Error(`${path}: no "identity:hexkey" line`);
}

export function readPskFile(path: string): PskCredentials {
  return parsePskFile(readFileSync(path, "utf8"), path);
}

/**
 * Writes `dir/keys.psk` readable by its owner only (dir 0700, file 0600), replacing any older key
 * in one rename. Returns the file's path.
 */
export function writePskFile(dir: string, psk: PskCredentials): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // an existing directory keeps its mode otherwise
  const path = join(dir, PSK_FILE_NAME);
  writeFileAtomic(path, formatPskFile(psk), { mode: 0o600 });
  return path;
}
