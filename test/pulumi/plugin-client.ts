// Starts the real pulumi-resource-virtform binary and talks to it as the Pulumi engine does: read the
// port from the first stdout line, then ResourceProvider calls over gRPC with the shipped stubs.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import { repoRoot } from "../helpers/cli.ts";

const stubs = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/proto/provider_grpc_pb.js"));
const grpc = stubs("@grpc/grpc-js") as typeof grpcTypes;
const services = stubs("./provider_grpc_pb.js");
export const proto = stubs("./provider_pb.js");
export const pluginProto = stubs("./plugin_pb.js");
const structProto = stubs("google-protobuf/google/protobuf/struct_pb.js");
const emptyProto = stubs("google-protobuf/google/protobuf/empty_pb.js");

/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf messages are untyped JavaScript */
export type Message = any;

export interface Plugin {
  /** Calls a ResourceProvider method; rejects with the gRPC error. */
  call(method: string, request: Message): Promise<Message>;
  stderr(): string;
  stop(): Promise<void>;
}

export function struct(values: Record<string, unknown>): Message {
  return structProto.Struct.fromJavaScript(values);
}

export function empty(): Message {
  return new emptyProto.Empty();
}

export async function startPlugin(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Plugin> {
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, "bin/pulumi-resource-virtform.mjs"), "127.0.0.1:1"], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!.trim());
    });
    child.once("exit", (code) => reject(new Error(`plugin exited (${code}) before printing its port: ${stderr}`)));
  });
  const client = connectPlugin(port);
  return {
    call: client.call,
    stderr: () => stderr,
    stop: async () => {
      client.close();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A connection to a plugin's port, as the engine makes it. */
export function connectPlugin(port: string): Pick<Plugin, "call"> & { close(): void } {
  const client = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: (method, request) =>
      new Promise((resolve, reject) => client[method](request, (err: Error | null, reply: Message) => (err ? reject(err) : resolve(reply)))),
    close: () => client.close(),
  };
}
