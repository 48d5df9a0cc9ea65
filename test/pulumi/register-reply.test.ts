// The monitor's RegisterResource replies, written by hand (register-reply.ts), read back by the
// SDK's own protobuf classes as the values they were made from.
import { describe, expect, it } from "vitest";
import { registerReplyBytes } from "../../cli/pulumi/register-reply.ts";
import { pulumiProto, structProto } from "../../provider/pulumi/sdk-proto.ts";

const resourceProto = pulumiProto("./resource_pb.js");

describe("RegisterResource replies", () => {
  it.each<[string, Record<string, unknown>]>([
    ["empty", {}],
    ["scalars", { s: "text", n: 42, f: -1.5, zero: 0, big: 2 ** 40, t: true, no: false, nil: null, unicode: "été \u0000ref" }],
    ["nested", { devices: [{ sizeGiB: 100 }, { sizeGiB: 2.5 }], hosts: { count: 1, tags: [] }, empty: {} }],
    ["a secret and an unknown, as the wire has them", { s: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "x" }, u: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }],
  ])("%s", (_, properties) => {
    const bytes = registerReplyBytes("urn:pulumi:dev::acme::virtform:storage:Volume::a", "vol-1", properties);
    const reply = resourceProto.RegisterResourceResponse.deserializeBinary(bytes);
    expect(reply.getUrn()).toBe("urn:pulumi:dev::acme::virtform:storage:Volume::a");
    expect(reply.getId()).toBe("vol-1");
    expect(reply.getObject().toJavaScript()).toEqual(properties);
    // The same bytes google-protobuf writes for it.
    const made = new resourceProto.RegisterResourceResponse();
    made.setUrn("urn:pulumi:dev::acme::virtform:storage:Volume::a");
    made.setId("vol-1");
    made.setObject(structProto.Struct.fromJavaScript(properties));
    expect(Buffer.from(bytes)).toEqual(Buffer.from(made.serializeBinary()));
  });

  it("leave out an empty id, and refuse what JSON cannot hold", () => {
    expect(resourceProto.RegisterResourceResponse.deserializeBinary(registerReplyBytes("urn:x", "", {})).getId()).toBe("");
    expect(() => registerReplyBytes("urn:x", "", { f: () => 1 })).toThrow("a function cannot be sent to a Pulumi program");
  });
});
