// pulumi-resource-virtform: the Pulumi engine starts it (with the engine's address as argument, which
// we do not need), reads the port from our first stdout line and drives it over gRPC until it kills it.
import { readFileSync } from "node:fs";
import { exitWithParent } from "../parent-watch.ts";
import { readSchema, servePlugin } from "./grpc-server.ts";

export async function main(): Promise<void> {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  // Killed with the engine gone, it would keep the data dir it holds; exiting releases it.
  exitWithParent(() => process.exit(0));
  await servePlugin({ version, schema: readSchema(), cwd: process.cwd() });
}
