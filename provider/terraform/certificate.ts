// The plugin's TLS identity for go-plugin's AutoMTLS: a fresh self-signed ECDSA P-256 certificate per
// launch, valid for "localhost", which the handshake line hands to Terraform. Node can sign but not
// write certificates, and the packages that can take longer to load than a launch may; the DER is
// short enough to assemble here (RFC 5280 §4.1).
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";

export interface ServerIdentity {
  /** The certificate in DER, for the handshake line. */
  der: Buffer;
  certPem: string;
  keyPem: string;
}

export function selfSignedCertificate(now = new Date()): ServerIdentity {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = seq(set(seq(oid("2.5.4.10"), utf8("virtform"))), set(seq(oid("2.5.4.3"), utf8("localhost"))));
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const notBefore = new Date(now.getTime() - 30_000);
  const notAfter = new Date(now.getTime() + 24 * 3600_000);
  const serial = randomBytes(16);
  // A positive INTEGER in its shortest form: a first byte of 0x00 would have to be dropped (DER is
  // minimal; OpenSSL refuses the certificate otherwise, one launch in 128), so it is kept in 0x40..0x7f.
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const tbs = seq(
    tagged(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    tagged(
      0xa3,
      seq(
        // Like go-plugin's own: a CA for itself (the client trusts it as a root), for server and client auth.
        extension("2.5.29.15", true, bitString(Buffer.from([0b1010_1100]), 2)), // digitalSignature, keyEncipherment, keyAgreement, keyCertSign
        extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.2"), oid("1.3.6.1.5.5.7.3.1"))),
        extension("2.5.29.19", true, seq(tlv(0x01, Buffer.from([0xff])))),
        extension("2.5.29.17", false, seq(tlv(0x82, Buffer.from("localhost")))),
      ),
    ),
  );
  const signature = sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  const der = seq(tbs, ecdsaWithSha256, bitString(signature, 0));
  return { der, certPem: pem("CERTIFICATE", der), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const tagged = (tag: number, content: Buffer) => tlv(tag, content);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));
const bitString = (bits: Buffer, unused: number) => tlv(0x03, Buffer.concat([Buffer.from([unused]), bits]));

function integer(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [a! * 40 + b!];
  for (const part of rest) {
    const base128 = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime, as certificates use until 2050. */
function time(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return tlv(0x17, Buffer.from(text, "ascii"));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}
