// The key that seals the emulator's secret values at rest (emulator.json and its journal), made
// once per data dir, the first time a secret is written, and recorded in `<data dir>/secrets.key`:
//   - from VIRTFORM_PASSPHRASE when it is set then: the file keeps the scrypt salt and a check
//     value, never the key, so the data dir alone does not give the secrets away;
//   - else 32 random bytes, kept in the file (mode 0600): emulator.json and its copies
//     (backups, bug reports, `grep`) hold no secret in clear.
// Values are AES-256-GCM sealed one by one as {"$sealed": "v1.<iv>.<tag>.<body>"}; the tag makes a
// damaged value or a wrong key an error, never garbage.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../durable/write-file-atomic.ts";
import { join } from "node:path";
import { SecretsError } from "../core/secrets-error.ts";

export const KEY_FILE = "secrets.key";
/** Sealed with the key and kept in a passphrase-mode key file: opening it tells a wrong passphrase. */
const CHECK_TEXT = "virtform emulator secrets";

export type Sealed = { $sealed: string };

export function isSealed(value: unknown): value is Sealed {
  return typeof value === "object" && value !== null && typeof (value as { $sealed?: unknown }).$sealed === "string";
}

interface KeyFile {
  version: 1;
  /** Generated mode: the key itself, base64. */
  key?: string;
  /** Passphrase mode: scrypt's salt (base64) and a sealed check value. */
  passphrase?: { salt: string; check: string };
}

export class SecretKey {
  private readonly key: Buffer;

  private constructor(key: Buffer) {
    this.key = key;
  }

  /** The data dir's key, or undefined when no secret was ever written there. */
  static load(dataDir: string, passphrase: string | undefined): SecretKey | undefined {
    const file = join(dataDir, KEY_FILE);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new SecretsError(`the emulator's key ${file} cannot be read: ${(err as Error).message}`);
    }
    let record: KeyFile;
    try {
      record = JSON.parse(text) as KeyFile;
    } catch {
      throw new SecretsError(`the emulator's key ${file} is damaged`);
    }
    if (record.key) return new SecretKey(Buffer.from(record.key, "base64"));
    if (!record.passphrase) throw new SecretsError(`the emulator's key ${file} is damaged`);
    if (!passphrase) {
      throw new SecretsError(`the emulator's data in ${dataDir} holds secrets encrypted with VIRTFORM_PASSPHRASE: set it to the passphrase they were written with`);
    }
    const key = new SecretKey(derive(passphrase, Buffer.from(record.passphrase.salt, "base64")));
    try {
      if (key.open({ $sealed: record.passphrase.check }) === CHECK_TEXT) return key;
    } catch {
      // a wrong key fails GCM's tag check, said below
    }
    throw new SecretsError(`VIRTFORM_PASSPHRASE does not open the secrets of the emulator's data in ${dataDir}: it is not the passphrase they were written with`);
  }

  /** Makes the data dir's key (see the file's header) and records it durably before any value is sealed with it. */
  static create(dataDir: string, passphrase: string | undefined): SecretKey {
    let key: SecretKey;
    let record: KeyFile;
    if (passphrase) {
      const salt = randomBytes(16);
      key = new SecretKey(derive(passphrase, salt));
      record = { version: 1, passphrase: { salt: salt.toString("base64"), check: key.seal(CHECK_TEXT).$sealed } };
    } else {
      const bytes = randomBytes(32);
      key = new SecretKey(bytes);
      record = { version: 1, key: bytes.toString("base64") };
    }
    const file = join(dataDir, KEY_FILE);
    writeFileAtomic(file, JSON.stringify(record), { mode: 0o600 });
    return key;
  }

  seal(value: unknown): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    return { $sealed: `v1.${[iv, cipher.getAuthTag(), body].map((b) => b.toString("base64")).join(".")}` };
  }

  open(sealed: Sealed): unknown {
    const [version, iv, tag, body] = sealed.$sealed.split(".");
    if (version !== "v1" || !iv || !tag || body === undefined) throw new SecretsError("a sealed secret in the emulator's data is damaged");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8"));
    } catch {
      throw new SecretsError("a sealed secret in the emulator's data does not open with its key: the value is damaged or the key file was replaced");
    }
  }
}

function derive(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, 32, { N: 1 << 14, r: 8, p: 1 });
}
