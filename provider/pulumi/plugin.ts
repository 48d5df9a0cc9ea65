// pulumi-resource-virtform: the Pulumi engine starts it (with the engine's address as argument, which
// we do not need), reads the port from our first stdout line and drives it over gRPC until it kills it.
import { readFileSync } from "node:fs";
import { readSchema, servePlugin } from "./grpc-server.ts";

export async function main(): Promise<void> {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  await servePlugin({ version, schema: readSchema(), cwd: process.cwd() });
}
