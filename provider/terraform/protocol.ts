// The gRPC service definitions the plugin serves (proto/*.proto), loaded from the descriptor that
// `npm run gen:terraform` compiles from them: parsing the .proto files at every launch would cost more
// than the rest of a start, and Terraform launches the provider three or four times per command.
import { readFileSync } from "node:fs";
import { fromJSON, type ServiceDefinition } from "@grpc/proto-loader";
import { loadPackageDefinition } from "@grpc/grpc-js";

export const PROTO_FILES = ["tfplugin6.proto", "go-plugin.proto", "health.proto"] as const;
export const DESCRIPTOR = new URL("./proto/descriptor.json", import.meta.url);

/** Field names as in the .proto, int64 as numbers, enums as numbers, absent fields absent. */
export const LOAD_OPTIONS = { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true } as const;

export interface Services {
  provider: ServiceDefinition;
  controller: ServiceDefinition;
  stdio: ServiceDefinition;
  health: ServiceDefinition;
}

export function loadServices(): Services {
  const definition = fromJSON(JSON.parse(readFileSync(DESCRIPTOR, "utf8")), LOAD_OPTIONS);
  const root = loadPackageDefinition(definition) as unknown as Record<string, unknown>;
  const service = (path: string) => path.split(".").reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], root) as { service: ServiceDefinition };
  return {
    provider: service("tfplugin6.Provider").service,
    controller: service("plugin.GRPCController").service,
    stdio: service("plugin.GRPCStdio").service,
    health: service("grpc.health.v1.Health").service,
  };
}
