// The gRPC stubs @pulumi/pulumi ships, with the grpc-js they resolve, so messages and server are one
// version: the plugin's ResourceProvider server and the CLI's resource monitor both serve on them.
import { createRequire } from "node:module";
import type * as grpcTypes from "@grpc/grpc-js";

const required = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/proto/provider_grpc_pb.js"));

/** A stub module beside Pulumi's protos ("./resource_pb.js") or one they depend on. */
export const pulumiProto = (name: string): any => required(name); // eslint-disable-line @typescript-eslint/no-explicit-any
export const grpc = pulumiProto("@grpc/grpc-js") as typeof grpcTypes;
export const structProto = pulumiProto("google-protobuf/google/protobuf/struct_pb.js");
export const emptyProto = pulumiProto("google-protobuf/google/protobuf/empty_pb.js");

/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf messages are untyped JavaScript here */
export type Message = any;
export type Call = { request: Message };
export type Callback = (err: grpcTypes.ServiceError | null, reply?: Message) => void;

/** A gRPC error for a callback. */
export function grpcError(code: number, message: string): grpcTypes.ServiceError {
  return { name: "Error", message, code, details: message, metadata: new grpc.Metadata() } as grpcTypes.ServiceError;
}
