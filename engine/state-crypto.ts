// Secrets at rest: values at secret paths are written to state as {"$encrypted": "..."} —
// AES-256-GCM under a key derived with scrypt from VIRTFORM_PASSPHRASE — and opened on load.
// Each value also carries a key check value (an HMAC of a constant under the same key), checked
// before the ciphertext: a wrong passphrase fails the check, while a value damaged on disk passes it
// and fails GCM's tag. So the two are told apart instead of both reading as "wrong passphrase".
import { VirtformError } from "../core/virtform-error.ts";
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import type { Value } from "./model.ts";

export type Sealed = { $encrypted: string };

export class SecretsError extends VirtformError<"passphrase-needed" | "wrong-passphrase" | "damaged"> {
  readonly layer = "secrets";
  /** Set when opening a value failed: the passphrase is not the one it was sealed with, or the value is damaged. */
  readonly reason: "wrong-passphrase" | "damaged" | undefined;

  constructor(message: string, reason?: "wrong-passphrase" | "damaged") {
    super(reason ?? "passphrase-needed", message);
    this.reason = reason;
  }
}

export function isSealed(v: unknown): v is Sealed {
  return typeof v === "object" && v !== null && typeof (v as { $encrypted?: unknown }).$encrypted === "string";
}

const CHECK_BYTES = 16;

export class StateCipher {
  private readonly passphrase: string;
  private readonly keys = new Map<string, { key: Buffer; check: Buffer }>();
  private readonly salt = randomBytes(16);

  constructor(passphrase: string) {
    this.passphrase = passphrase;
    if (passphrase.length === 0) throw new SecretsError("VIRTFORM_PASSPHRASE is empty");
  }

  private key(salt: Buffer): { key: Buffer; check: Buffer } {
    const id = salt.toString("base64");
    let entry = this.keys.get(id);
    if (!entry) {
      const key = scryptSync(this.passphrase, salt, 32, { N: 1 << 14, r: 8, p: 1 });
      const check = createHmac("sha256", key).update("virtform key check").digest().subarray(0, CHECK_BYTES);
      entry = { key, check };
      this.keys.set(id, entry);
    }
    return entry;
  }

  seal(value: Value): Sealed {
    const iv = randomBytes(12);
    const { key, check } = this.key(this.salt);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    const parts = [this.salt, check, iv, cipher.getAuthTag(), body].map((b) => b.toString("base64"));
    return { $encrypted: `v2.${parts.join(".")}` };
  }

  /** `where` names the value in errors ("resources.volume.a.inputs.userData"). */
  open(sealed: Sealed, where = "in state"): Value {
    const damaged = (why: string) => new SecretsError(`an encrypted value ${where} is damaged (${why}); the passphrase is right`, "damaged");
    const parts = sealed.$encrypted.split(".");
    const version = parts[0];
    if (version === "v1" && parts.length === 5) return this.openV1(parts, where);
    if (version !== "v2" || parts.length !== 6) throw new SecretsError(`an encrypted value ${where} is damaged (not a sealed value this virtform writes)`, "damaged");
    const [salt, check, iv, tag, body] = parts.slice(1).map((p) => Buffer.from(p!, "base64")) as [Buffer, Buffer, Buffer, Buffer, Buffer];
    if (salt.length !== 16 || check.length !== CHECK_BYTES || iv.length !== 12 || tag.length !== 16) {
      throw new SecretsError(`an encrypted value ${where} is damaged (its header is cut or altered)`, "damaged");
    }
    const entry = this.key(salt);
    if (!timingSafeEqual(entry.check, check)) {
      throw new SecretsError("VIRTFORM_PASSPHRASE does not decrypt the secrets in state: it is not the passphrase they were encrypted with", "wrong-passphrase");
    }
    let text: string;
    try {
      const decipher = createDecipheriv("aes-256-gcm", entry.key, iv);
      decipher.setAuthTag(tag);
      text = Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      throw damaged("its ciphertext fails authentication");
    }
    try {
      return JSON.parse(text) as Value;
    } catch {
      throw damaged("it decrypts to no JSON value");
    }
  }

  /** Values written before key check values: a failure cannot say which of the two it is. */
  private openV1([, salt, iv, tag, body]: string[], where: string): Value {
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key(Buffer.from(salt!, "base64")).key, Buffer.from(iv!, "base64"));
      decipher.setAuthTag(Buffer.from(tag!, "base64"));
      const text = Buffer.concat([decipher.update(Buffer.from(body!, "base64")), decipher.final()]).toString("utf8");
      return JSON.parse(text) as Value;
    } catch {
      throw new SecretsError(
        `VIRTFORM_PASSPHRASE does not decrypt the encrypted value ${where}: either it is not the passphrase the secrets were encrypted with, or the value is damaged (values written before virtform kept key checks cannot tell these apart)`,
        "wrong-passphrase",
      );
    }
  }
}

/** Opens every sealed value anywhere in a parsed document; `path` names where, for errors. */
export function openAll<T>(value: T, cipher: StateCipher | undefined, path = ""): T {
  if (isSealed(value)) {
    if (!cipher) throw new SecretsError("state holds encrypted secrets: set VIRTFORM_PASSPHRASE to the passphrase they were encrypted with");
    return cipher.open(value, path ? `at ${path}` : "in state") as T;
  }
  const at = (key: string | number) =>
    typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
  if (Array.isArray(value)) return value.map((v, i) => openAll(v, cipher, at(i))) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openAll(v, cipher, at(k))])) as T;
  }
  return value;
}
