// The provider's pure parts, table-tested: MessagePack as Terraform writes it, values by shape (names,
// nulls, unknowns, dynamic values), the TLS certificate of the handshake, and the compiled descriptor.
import { X509Certificate, createSign, createVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../core/model.ts";
import { selfSignedCertificate } from "../../provider/terraform/certificate.ts";
import { fromJson, fromPacked, toPacked } from "../../provider/terraform/codec.ts";
import { FIXED_REPLIES } from "../../provider/terraform/fixed-replies.ts";
import { derivedSchemas, readSchemas, SCHEMAS_FILE, schemasJson } from "../../provider/terraform/schemas-file.ts";
import { compileDescriptor, fixedReplies } from "../../provider/terraform/generate.ts";
import { Extension, UNKNOWN_EXTENSION, decode, encode, type Packed } from "../../provider/terraform/msgpack.ts";
import { frame, percentEncoded } from "../../provider/terraform/grpc-server.ts";
import { DESCRIPTOR, loadMethods } from "../../provider/terraform/protocol.ts";
import { providerService } from "../../provider/terraform/provider-service.ts";
import protobuf from "protobufjs/light.js";
import { snakeCase, type Shape } from "../../provider/terraform/shape.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("msgpack", () => {
  it.each<[string, Packed, string]>([
    ["null", null, "c0"],
    ["unknown", UNKNOWN_EXTENSION, "d40000"],
    ["true", true, "c3"],
    ["small int", 5, "05"],
    ["negative fixint", -3, "fd"],
    ["uint32", 70000, "ce00011170"],
    ["int32", -70000, "d2fffeee90"],
    ["int64", 2 ** 40, "d30000010000000000"],
    ["float", 1.5, "cb3ff8000000000000"],
    ["fixstr", "ab", "a26162"],
    ["str8", "x".repeat(40), `d928${"78".repeat(40)}`],
    ["bin", new Uint8Array([1, 2]), "c4020102"],
    ["array", [1, "a"], "9201a161"],
    ["map", { a: null }, "81a161c0"],
  ])("%s", (_, value, bytes) => {
    expect(hex(encode(value))).toBe(bytes);
    expect(decode(Buffer.from(bytes, "hex"))).toEqual(value);
  });

  it("reads every extension as an unknown, skipping a refinement payload", () => {
    // ext 12 (refined unknown) with a 3-byte payload {1: false}, then nil.
    expect(decode(Buffer.from("92c7030c8101c2c0", "hex"))).toEqual([new Extension(12), null]);
    expect(decode(Buffer.from("d5000000", "hex"))).toEqual(new Extension(0));
  });

  it("reads back what it writes: any text (short, long, ASCII or not), number, bytes, list, map or unknown", () => {
    const { value } = fc.letrec<{ value: Packed }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
        fc.string({ unit: "binary", maxLength: 80 }),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => new Uint8Array(bytes)),
        fc.constant(UNKNOWN_EXTENSION),
        fc.array(tie("value"), { maxLength: 20 }),
        fc.dictionary(fc.string({ unit: "binary", maxLength: 40 }), tie("value"), { maxKeys: 20 }),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        expect(decode(encode(v))).toEqual(v);
      }),
    );
  });

  it("keeps a key named __proto__ as a key (a user may be called anything), in maps and in dynamic values, so that validation can refuse it", () => {
    const users = JSON.parse('{"__proto__": "x", "b": "y"}') as Record<string, string>;
    const decoded = decode(encode(users)) as { [key: string]: Packed };
    expect(Object.keys(decoded)).toEqual(["__proto__", "b"]);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(fromPacked(decoded, { type: "map", element: { type: "string" } }) as object)).toEqual(["__proto__", "b"]);
    // A dynamic value: its type names the object's attributes, "__proto__" among them.
    const dynamic = fromPacked(decode(encode(toPacked(users, { type: "dynamic" }))), { type: "dynamic" }) as object;
    expect(Object.keys(dynamic)).toEqual(["__proto__", "b"]);
    expect(Object.getPrototypeOf(dynamic)).toBe(Object.prototype);
  });

  it("reads the other integer and string forms Terraform may choose", () => {
    expect(decode(Buffer.from("ccff", "hex"))).toBe(255);
    expect(decode(Buffer.from("cd0100", "hex"))).toBe(256);
    expect(decode(Buffer.from("d080", "hex"))).toBe(-128);
    expect(decode(Buffer.from("ca3fc00000", "hex"))).toBe(1.5);
    expect(decode(Buffer.from("da00026869", "hex"))).toBe("hi");
    expect(() => decode(Buffer.from("c0c0", "hex"))).toThrow(/left over/);
  });
});

describe("values by shape", () => {
  const volume: Shape = {
    type: "object",
    attributes: {
      size_gib: { field: "sizeGiB", shape: { type: "number" }, required: true, optional: false, computed: false, sensitive: false, hasDefault: false },
      source: { field: "source", shape: { type: "string" }, required: false, optional: true, computed: false, sensitive: false, hasDefault: false },
      config: { field: "config", shape: { type: "dynamic" }, required: false, optional: true, computed: true, sensitive: false, hasDefault: true },
      tags: { field: "tags", shape: { type: "map", element: { type: "string" } }, required: false, optional: true, computed: false, sensitive: false, hasDefault: false },
    },
  };

  it.each<[string, Record<string, unknown>, Packed]>([
    ["names and nulls", { sizeGiB: 10 }, { size_gib: 10, source: null, config: null, tags: null }],
    ["unknown", { sizeGiB: UNKNOWN }, { size_gib: UNKNOWN_EXTENSION, source: null, config: null, tags: null }],
    ["map keys as they are", { sizeGiB: 1, tags: { heapMiB: "x" } }, { size_gib: 1, source: null, config: null, tags: { heapMiB: "x" } }],
    [
      "a dynamic value carries its type",
      { sizeGiB: 1, config: { heapMiB: 512, flags: ["a"] } },
      {
        size_gib: 1,
        source: null,
        config: [new TextEncoder().encode('["object",{"heapMiB":"number","flags":["tuple",["string"]]}]'), { heapMiB: 512, flags: ["a"] }],
        tags: null,
      },
    ],
  ])("%s", (_, value, packed) => {
    expect(toPacked(value, volume)).toEqual(packed);
    expect(fromPacked(decode(encode(packed)), volume)).toEqual(value);
  });

  it("reads state JSON, where a dynamic value is {value, type}", () => {
    expect(fromJson({ size_gib: 3, source: null, config: { value: { a: true }, type: ["object", { a: "bool" }] }, gone: 1 }, volume)).toEqual({
      sizeGiB: 3,
      config: { a: true },
    });
  });

  it.each([
    ["sizeGiB", "size_gib"],
    ["memoryGiB", "memory_gib"],
    ["installedKiB", "installed_kib"],
    ["hostIds", "host_ids"],
    ["antiAffinityGroup", "anti_affinity_group"],
    ["StoragePool", "storage_pool"],
    ["vcpu", "vcpu"],
  ])("%s is %s in Terraform", (field, name) => {
    expect(snakeCase(field)).toBe(name);
  });
});

describe("the handshake's certificate", () => {
  it("is a self-signed ECDSA P-256 CA certificate for localhost", () => {
    const identity = selfSignedCertificate(new Date("2026-01-01T00:00:00Z"));
    const cert = new X509Certificate(identity.der);
    expect(cert.subjectAltName).toBe("DNS:localhost");
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: "prime256v1" });
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]);
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.parse("2026-01-01T00:00:00Z"));
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.parse("2026-01-01T12:00:00Z"));
    // The key in PEM signs what the certificate's public key verifies.
    const signature = createVerify("sha256").update("x");
    expect(signature.verify(cert.publicKey, createSign("sha256").update("x").sign(identity.keyPem))).toBe(true);
    expect(new X509Certificate(identity.certPem).fingerprint256).toBe(cert.fingerprint256);
  });

  it("is valid DER every time (its random serial is a minimal INTEGER: one launch in 128 failed before)", () => {
    for (let i = 0; i < 1000; i++) expect(() => new X509Certificate(selfSignedCertificate().der)).not.toThrow();
  });
});

describe("the protocol descriptor", () => {
  it("is what the .proto files compile to (npm run gen:terraform)", () => {
    expect(readFileSync(DESCRIPTOR, "utf8")).toBe(compileDescriptor());
  });

  it("and the fixed replies (the schema without loading the kinds) are what the kinds derive now (npm run gen:terraform)", async () => {
    expect(readFileSync(FIXED_REPLIES, "utf8")).toBe(await fixedReplies());
  });

  it("and so are the schemas the plugin reads instead of deriving them, read back as derived", () => {
    const derived = derivedSchemas();
    expect(readFileSync(SCHEMAS_FILE, "utf8")).toBe(schemasJson(derived));
    expect(readSchemas()).toStrictEqual(derived);
  });
});

describe("gRPC messages", () => {
  const methods = loadMethods();
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(DESCRIPTOR, "utf8")) as protobuf.INamespace);
  const service = providerService({ cwd: "/nowhere", owner: { stack: "terraform:/test", lineage: "terraform" } });
  const unknownConfig = { msgpack: encode({ pool: UNKNOWN_EXTENSION, size_gib: -1, source: null }) };

  // Replies are encoded without protobufjs's fromObject: the same bytes, for every kind of field the
  // replies use (maps of messages, nested and repeated messages, oneofs, enums as numbers, bytes).
  it.each<[string, Record<string, unknown>]>([
    ["GetMetadata", {}],
    ["GetProviderSchema", {}],
    ["ValidateResourceConfig", { type_name: "virtform_volume", config: unknownConfig }],
    ["ValidateResourceConfig", { type_name: "virtform_nothing" }],
  ])("%s's reply encodes as fromObject would", async (name, request) => {
    const reply = await service[name]!(request);
    const type = root.lookupType(`tfplugin6.${name}.Response`);
    expect(Buffer.from(methods.get(`/tfplugin6.Provider/${name}`)!.encodeReply(reply)).toString("hex")).toBe(Buffer.from(type.encode(type.fromObject(reply)).finish()).toString("hex"));
  });

  it("encodes a plan's reply as fromObject would: planned state, paths to replace, private bytes, a diagnostic's path", () => {
    const reply = {
      planned_state: { msgpack: encode({ id: UNKNOWN_EXTENSION }) },
      requires_replace: [{ steps: [{ attribute_name: "image" }, { element_key_int: 0 }, { element_key_string: "x" }] }],
      planned_private: new TextEncoder().encode("terraform:token"),
      diagnostics: [{ severity: 1, summary: "This create would fail", detail: "no room", attribute: { steps: [{ attribute_name: "hosts" }] } }],
    };
    const type = root.lookupType("tfplugin6.PlanResourceChange.Response");
    expect(Buffer.from(methods.get("/tfplugin6.Provider/PlanResourceChange")!.encodeReply(reply))).toEqual(Buffer.from(type.encode(type.fromObject(reply)).finish()));
  });

  it("frames a message: no compression, its length in four bytes", () => {
    expect(frame(new Uint8Array([7, 8])).toString("hex")).toBe("00000000020708");
  });

  it.each([
    ["unknown method /tfplugin6.Provider/X", "unknown method /tfplugin6.Provider/X"],
    ["100% full", "100%25 full"],
    ["a\nb é", "a%0Ab %C3%A9"],
  ])("grpc-message %j is sent as %j", (message, sent) => {
    expect(percentEncoded(message)).toBe(sent);
  });
});
