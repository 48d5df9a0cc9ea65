// The gRPC service definitions the plugin serves (proto/*.proto), built from the descriptor that
// `npm run gen:terraform` compiles from them, with protobufjs's light build: parsing the .proto files
// (or loading @grpc/proto-loader) at every launch would cost more than the rest of a start, and
// Terraform launches the provider three or four times per command.
import { readFileSync } from "node:fs";
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs/light.js";

export const PROTO_FILES = ["tfplugin6.proto", "go-plugin.proto", "health.proto"] as const;
export const DESCRIPTOR = new URL("./proto/descriptor.json", import.meta.url);

/** Messages as plain objects: field names as in the .proto, int64 and enums as numbers, bytes as Buffers. */
const TO_OBJECT = { longs: Number, enums: Number, bytes: Buffer, oneofs: false, defaults: false } as const;

export interface Services {
  provider: ServiceDefinition;
  controller: ServiceDefinition;
  stdio: ServiceDefinition;
  health: ServiceDefinition;
}

export function loadServices(): Services {
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(DESCRIPTOR, "utf8")) as protobuf.INamespace);
  return {
    provider: definition(root, "tfplugin6.Provider"),
    controller: definition(root, "plugin.GRPCController"),
    stdio: definition(root, "plugin.GRPCStdio"),
    health: definition(root, "grpc.health.v1.Health"),
  };
}

/** What grpc-js needs of a service: each method's path and how its messages are written and read. */
function definition(root: protobuf.Root, name: string): ServiceDefinition {
  const service = root.lookupService(name);
  const methods: Record<string, unknown> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    methods[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (value: object) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => request.toObject(request.decode(bytes), TO_OBJECT),
      responseSerialize: (value: object) => Buffer.from(response.encode(response.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => response.toObject(response.decode(bytes), TO_OBJECT),
      originalName: method.name,
    };
  }
  return methods as unknown as ServiceDefinition;
}
