// Pulumi's wire values and the engine's: unknown markers, secret wrappers, undefined fields (which
// Struct.fromJavaScript cannot take), and the URN -> kind/address mapping.
import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../core/model.ts";
import { SECRET_SIGNATURE, SIGNATURE_KEY, UNKNOWN_MARKER, fromWire, toWire } from "../../provider/pulumi/property-values.ts";
import { addressOfUrn, kindOfToken, kindOfUrn } from "../../provider/pulumi/tokens.ts";

const secret = (value: unknown) => ({ [SIGNATURE_KEY]: SECRET_SIGNATURE, value });

describe("wire values", () => {
  it.each([
    ["a plain value", { a: 1, b: ["x"] }, { a: 1, b: ["x"] }, []],
    ["an unknown", { pool: UNKNOWN_MARKER }, { pool: UNKNOWN }, []],
    ["a nested secret", { hosts: { count: secret(3) } }, { hosts: { count: 3 } }, ["hosts.count"]],
    ["a secret in an array (the array is secret)", { packages: ["a", secret("b")] }, { packages: ["a", "b"] }, ["packages"]],
    ["a secret unknown", { userData: secret(UNKNOWN_MARKER) }, { userData: UNKNOWN }, ["userData"]],
  ])("reads %s", (_, wire, values, secretPaths) => {
    expect(fromWire(wire)).toEqual({ values, secretPaths });
  });

  it.each([
    ["drops undefined fields", { a: 1, b: undefined, c: { d: undefined } }, [], { a: 1, c: {} }],
    ["marks unknowns", { host: UNKNOWN }, [], { host: UNKNOWN_MARKER }],
    ["wraps each secret path once", { userData: "x", hosts: { count: 2 } }, ["userData", "userData", "hosts", "hosts.count"], { userData: secret("x"), hosts: secret({ count: 2 }) }],
    ["skips secret paths that are absent", { a: 1 }, ["userData"], { a: 1 }],
  ])("writes: %s", (_, values, secretPaths, wire) => {
    expect(toWire(values, secretPaths)).toEqual(wire);
  });
});

describe("tokens", () => {
  it.each([
    ["urn:pulumi:dev::shop::virtform:storage:Volume::data", "Volume", "volume.data"],
    ["urn:pulumi:dev::shop::my:app:Stack$virtform:compute:Instance::web-0", "Instance", "instances.web-0"],
    ["urn:pulumi:dev::shop::virtform:compute:Volume::data", undefined, "data"],
    ["urn:pulumi:dev::shop::aws:s3:Bucket::b", undefined, "b"],
  ])("%s", (urn, kind, address) => {
    expect(kindOfUrn(urn)).toBe(kind);
    expect(addressOfUrn(urn)).toBe(address);
  });

  it("maps every kind's token back to it", () => {
    expect(kindOfToken("virtform:images:Image")).toBe("Image");
    expect(kindOfToken("virtform:images:Imagex")).toBeUndefined();
  });
});
