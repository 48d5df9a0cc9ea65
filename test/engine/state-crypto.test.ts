// The state cipher: a wrong passphrase and a damaged value are different errors (the key check value
// is authenticated apart from each ciphertext), and values sealed before key checks still open.
import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretsError } from "../../core/secrets-error.ts";
import { StateCipher, type Sealed } from "../../engine/state-crypto.ts";

const cipher = new StateCipher("right");
const sealed = cipher.seal({ password: "swordfish" });

/** The sealed value with one base64 character of part `i` (0: version) changed. */
function altered(value: Sealed, i: number): Sealed {
  const parts = value.$encrypted.split(".");
  parts[i] = (parts[i]![0] === "A" ? "B" : "A") + parts[i]!.slice(1);
  return { $encrypted: parts.join(".") };
}

function failure(open: () => unknown): SecretsError {
  try {
    open();
  } catch (err) {
    if (err instanceof SecretsError) return err;
    throw err;
  }
  throw new Error("opened");
}

describe("StateCipher", () => {
  it("opens what it sealed, under another instance of the same passphrase", () => {
    expect(new StateCipher("right").open(sealed)).toEqual({ password: "swordfish" });
  });

  it.each([
    ["a wrong passphrase", () => new StateCipher("wrong").open(sealed), "wrong-passphrase", /not the passphrase/],
    ["a changed ciphertext", () => cipher.open(altered(sealed, 5)), "damaged", /is damaged \(its ciphertext fails authentication\); the passphrase is right/],
    ["a changed tag", () => cipher.open(altered(sealed, 4)), "damaged", /is damaged/],
    ["a cut value", () => cipher.open({ $encrypted: sealed.$encrypted.split(".").slice(0, 4).join(".") }), "damaged", /is damaged/],
    ["a changed check value (indistinguishable from a wrong key)", () => cipher.open(altered(sealed, 2)), "wrong-passphrase", /not the passphrase/],
  ] as const)("%s", (_what, open, reason, message) => {
    const err = failure(open);
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });

  it("opens v1 values (sealed before key checks); their failures cannot say which it is", () => {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", scryptSync("right", salt, 32, { N: 1 << 14, r: 8, p: 1 }), iv);
    const body = Buffer.concat([c.update(JSON.stringify("old"), "utf8"), c.final()]);
    const v1 = { $encrypted: `v1.${[salt, iv, c.getAuthTag(), body].map((b) => b.toString("base64")).join(".")}` };
    expect(cipher.open(v1)).toBe("old");
    expect(failure(() => new StateCipher("wrong").open(v1)).message).toMatch(/either it is not the passphrase .* or the value is damaged/);
  });
});
