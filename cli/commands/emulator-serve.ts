// emulator serve: the emulator as an HTTP service, until interrupted. Other `virtform` commands reach
// it with VIRTFORM_ENDPOINT (or --endpoint) and VIRTFORM_TOKEN.
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { serveEmulator } from "../../emulator/http/server.ts";
import { CliError } from "../cli-error.ts";
import { holdEmulatorData, Workspace } from "../workspace.ts";

export interface EmulatorServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  token?: string;
  nbdPort?: string;
}

export const DEFAULT_EMULATOR_PORT = 8420;

export async function emulatorServeCommand(options: EmulatorServeOptions): Promise<number> {
  const port = options.port === undefined ? DEFAULT_EMULATOR_PORT : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be a port number (0 picks a free one), got ${options.port}`);
  const nbdPort = options.nbdPort === undefined ? undefined : Number(options.nbdPort);
  if (nbdPort !== undefined && (!Number.isInteger(nbdPort) || nbdPort < 0 || nbdPort > 65_535)) {
    throw new CliError(`--nbd-port must be a port number (0 picks a free one), got ${options.nbdPort}`);
  }
  const given = options.token ?? process.env.VIRTFORM_TOKEN;
  if (given !== undefined && !/^\S+$/.test(given)) throw new CliError("the token must be non-empty and contain no whitespace");
  const token = given ?? randomBytes(24).toString("base64url");
  const dataDir = options.dataDir ? resolve(options.dataDir) : new Workspace().emulatorDir;
  mkdirSync(dataDir, { recursive: true });
  const dataLock = holdEmulatorData(dataDir, "emulator serve");
  const server = await serveEmulator({ dataDir, token, host: options.host ?? "127.0.0.1", port, ...(nbdPort !== undefined && { nbdPort }) }).catch((err: unknown) => {
    throw new CliError(`cannot serve the emulator: ${(err as Error).message}`);
  });
  process.stdout.write(`virtform emulator serving ${server.url}/v1 (data in ${dataDir})\n`);
  process.stdout.write(`VIRTFORM_ENDPOINT=${server.url}\n`);
  if (server.nbdUrl) process.stdout.write(`NBD ${server.nbdUrl}/<volume-id> (also <volume-id>:ro, <snapshot-id>, <attachment-id>)\n`);
  if (!["127.0.0.1", "::1", "localhost"].includes(options.host ?? "127.0.0.1")) {
    process.stderr.write("warning: the API is reachable beyond this machine over plain HTTP; the token travels unencrypted\n");
  }
  // A token the user chose is theirs already; a generated one is shown once, here.
  process.stdout.write(given === undefined ? `VIRTFORM_TOKEN=${token}\n` : `token: as given (${options.token ? "--token" : "VIRTFORM_TOKEN"})\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  dataLock.release();
  process.stdout.write("virtform emulator stopped\n");
  return 0;
}
