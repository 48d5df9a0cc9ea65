// The gRPC methods the plugin serves (proto/*.proto) and how their messages are read and written,
// built from the descriptor that `npm run gen:terraform` compiles from them, with protobufjs's light
// build: parsing the .proto files at every launch would cost more than the rest of a start, and
// Terraform launches the provider three or four times per command.
import { readFileSync } from "node:fs";
import protobuf from "protobufjs/light.js";

export const PROTO_FILES = ["tfplugin6.proto", "go-plugin.proto", "health.proto"] as const;
export const DESCRIPTOR = new URL("./proto/descriptor.json", import.meta.url);
export const SERVICES = ["tfplugin6.Provider", "plugin.GRPCController", "plugin.GRPCStdio", "grpc.health.v1.Health"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Messages as plain objects: field names as in the .proto, int64 and enums as numbers, bytes as Buffers. */
const TO_OBJECT = { longs: Number, enums: Number, bytes: Buffer, oneofs: false, defaults: false } as const;

export interface MethodCodec {
  service: ServiceName;
  name: string;
  serverStream: boolean;
  decodeRequest(bytes: Uint8Array): unknown;
  /**
   * The reply as plain objects straight to bytes: the replies are built with the .proto's field names,
   * numbers for enums and Uint8Arrays for bytes, which is what the encoder reads, so protobufjs's
   * fromObject (a copy of every reply, checking each field) is not needed.
   */
  encodeReply(reply: unknown): Uint8Array;
  /** The client's side, for tests: a request to bytes and a reply from bytes. */
  encodeRequest(request: unknown): Uint8Array;
  decodeReply(bytes: Uint8Array): unknown;
}

/** Every method by its gRPC path, "/tfplugin6.Provider/PlanResourceChange". */
export function loadMethods(): Map<string, MethodCodec> {
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(DESCRIPTOR, "utf8")) as protobuf.INamespace);
  const methods = new Map<string, MethodCodec>();
  for (const service of SERVICES) {
    for (const method of root.lookupService(service).methodsArray) {
      method.resolve();
      const request = method.resolvedRequestType!;
      const reply = method.resolvedResponseType!;
      methods.set(`/${service}/${method.name}`, {
        service,
        name: method.name,
        serverStream: method.responseStream === true,
        decodeRequest: (bytes) => request.toObject(request.decode(bytes), TO_OBJECT),
        encodeReply: (value) => reply.encode(value as protobuf.Message).finish(),
        encodeRequest: (value) => request.encode(value as protobuf.Message).finish(),
        decodeReply: (bytes) => reply.toObject(reply.decode(bytes), TO_OBJECT),
      });
    }
  }
  return methods;
}
