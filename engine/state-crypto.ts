// Secrets at rest: values at secret paths are written to state as {"$encrypted": "..."} —
// AES-256-GCM under a key derived with scrypt from VIRTFORM_PASSPHRASE — and opened on load. GCM's
// tag makes a wrong passphrase a clear error instead of garbage.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import type { Value } from "./model.ts";

export type Sealed = { $encrypted: string };

export class SecretsError extends Error {}

export function isSealed(v: unknown): v is Sealed {
  return typeof v === "object" && v !== null && typeof (v as { $encrypted?: unknown }).$encrypted === "string";
}

export class StateCipher {
  private readonly passphrase: string;
  private readonly keys = new Map<string, Buffer>();
  private readonly salt = randomBytes(16);

  constructor(passphrase: string) {
    this.passphrase = passphrase;
    if (passphrase.length === 0) throw new SecretsError("VIRTFORM_PASSPHRASE is empty");
  }

  private key(salt: Buffer): Buffer {
    const id = salt.toString("base64");
    let key = this.keys.get(id);
    if (!key) {
      key = scryptSync(this.passphrase, salt, 32, { N: 1 << 14, r: 8, p: 1 });
      this.keys.set(id, key);
    }
    return key;
  }

  seal(value: Value): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key(this.salt), iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    const parts = [this.salt, iv, cipher.getAuthTag(), body].map((b) => b.toString("base64"));
    return { $encrypted: `v1.${parts.join(".")}` };
  }

  open(sealed: Sealed): Value {
    const [version, salt, iv, tag, body] = sealed.$encrypted.split(".");
    if (version !== "v1" || !salt || !iv || !tag || body === undefined) throw new SecretsError("an encrypted value in state is damaged");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key(Buffer.from(salt, "base64")), Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      const text = Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
      return JSON.parse(text) as Value;
    } catch {
      throw new SecretsError("VIRTFORM_PASSPHRASE does not decrypt the secrets in state: it is not the passphrase they were encrypted with");
    }
  }
}

/** Opens every sealed value anywhere in a parsed document. */
export function openAll<T>(value: T, cipher: StateCipher | undefined): T {
  if (isSealed(value)) {
    if (!cipher) throw new SecretsError("state holds encrypted secrets: set VIRTFORM_PASSPHRASE to the passphrase they were encrypted with");
    return cipher.open(value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => openAll(v, cipher)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openAll(v, cipher)])) as T;
  }
  return value;
}
