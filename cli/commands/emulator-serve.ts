// emulator serve: the emulator as an HTTP service, until interrupted. Other `virtform` commands reach
// it with VIRTFORM_ENDPOINT (or --endpoint) and VIRTFORM_TOKEN; NBD clients with the pre-shared key
// printed (and written to a psktool file) here.
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { serveEmulator } from "../../emulator/http/server.ts";
import { type NbdSecurity, isLoopbackHost } from "../../emulator/block/nbd-tls.ts";
import { PSK_FILE_NAME, generatePsk, readPskFile, writePskFile } from "../../emulator/block/psk-file.ts";
import { CliError } from "../cli-error.ts";
import { holdEmulatorData, Workspace } from "../workspace.ts";

export interface EmulatorServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  token?: string;
  nbdPort?: string;
  nbdInsecure?: boolean;
  nbdPskFile?: string;
  nbdMaxConnections?: string;
}

/** Where a generated NBD key is written, inside the data dir (qemu's tls-creds-psk reads `dir/keys.psk`). */
const NBD_KEY_DIR = "nbd-tls";

export const DEFAULT_EMULATOR_PORT = 8420;

export async function emulatorServeCommand(options: EmulatorServeOptions): Promise<number> {
  const port = options.port === undefined ? DEFAULT_EMULATOR_PORT : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be a port number (0 picks a free one), got ${options.port}`);
  const nbdPort = options.nbdPort === undefined ? undefined : Number(options.nbdPort);
  if (nbdPort !== undefined && (!Number.isInteger(nbdPort) || nbdPort < 0 || nbdPort > 65_535)) {
    throw new CliError(`--nbd-port must be a port number (0 picks a free one), got ${options.nbdPort}`);
  }
  const host = options.host ?? "127.0.0.1";
  if (nbdPort === undefined && (options.nbdInsecure || options.nbdPskFile !== undefined || options.nbdMaxConnections !== undefined)) {
    throw new CliError("--nbd-insecure, --nbd-psk-file and --nbd-max-connections need --nbd-port");
  }
  if (options.nbdInsecure && options.nbdPskFile !== undefined) throw new CliError("--nbd-insecure and --nbd-psk-file exclude each other");
  if (options.nbdInsecure && !isLoopbackHost(host)) {
    throw new CliError(`--nbd-insecure is allowed on loopback only (--host 127.0.0.1, ::1 or localhost); on ${host} NBD requires TLS with a pre-shared key`);
  }
  const maxConnections = options.nbdMaxConnections === undefined ? undefined : Number(options.nbdMaxConnections);
  if (maxConnections !== undefined && (!Number.isInteger(maxConnections) || maxConnections < 1)) {
    throw new CliError(`--nbd-max-connections must be a positive whole number, got ${options.nbdMaxConnections}`);
  }
  let givenPsk: NbdSecurity | undefined;
  if (options.nbdPskFile !== undefined) {
    try {
      givenPsk = { psk: readPskFile(resolve(options.nbdPskFile)) };
    } catch (err) {
      throw new CliError(`--nbd-psk-file: ${(err as Error).message}`);
    }
  }
  const given = options.token ?? process.env.VIRTFORM_TOKEN;
  if (given !== undefined && !/^\S+$/.test(given)) throw new CliError("the token must be non-empty and contain no whitespace");
  const token = given ?? randomBytes(24).toString("base64url");
  const dataDir = options.dataDir ? resolve(options.dataDir) : new Workspace().emulatorDir;
  mkdirSync(dataDir, { recursive: true });
  const dataLock = holdEmulatorData(dataDir, "emulator serve");
  // A generated key is new on every start, like the token; it is written once the data dir is ours.
  let nbdSecurity: NbdSecurity | undefined;
  let generatedKeyDir: string | undefined; // set when the key is ours to print
  if (nbdPort !== undefined) {
    if (options.nbdInsecure) nbdSecurity = "insecure";
    else if (givenPsk !== undefined) nbdSecurity = givenPsk;
    else {
      const psk = generatePsk();
      generatedKeyDir = join(dataDir, NBD_KEY_DIR);
      writePskFile(generatedKeyDir, psk);
      nbdSecurity = { psk };
    }
  }
  const server = await serveEmulator({
    dataDir,
    token,
    host,
    port,
    ...(nbdPort !== undefined && { nbdPort, nbdSecurity }),
    ...(maxConnections !== undefined && { nbdMaxConnectionsPerClient: maxConnections }),
  }).catch((err: unknown) => {
    throw new CliError(`cannot serve the emulator: ${(err as Error).message}`);
  });
  process.stdout.write(`virtform emulator serving ${server.url}/v1 (data in ${dataDir})\n`);
  process.stdout.write(`VIRTFORM_ENDPOINT=${server.url}\n`);
  if (server.nbdUrl) process.stdout.write(`NBD ${server.nbdUrl}/<volume-id> (also <volume-id>:ro, <snapshot-id>, <attachment-id>)\n`);
  if (nbdSecurity === "insecure") {
    process.stderr.write("warning: NBD without TLS (--nbd-insecure): every local process can read and write every volume\n");
  } else if (nbdSecurity !== undefined && generatedKeyDir !== undefined) {
    const { identity, key } = nbdSecurity.psk;
    const keyFile = join(generatedKeyDir, PSK_FILE_NAME);
    process.stdout.write(`NBD_PSK_IDENTITY=${identity}\nNBD_PSK_KEY=${key.toString("hex")}\n`);
    const uri = (server.nbdUrl as string).replace("nbds://", `nbds://${identity}@`);
    process.stdout.write(`NBD key file ${keyFile}, for\n`);
    process.stdout.write(`  qemu-io, qemu-img: --object tls-creds-psk,id=tls0,endpoint=client,dir=${generatedKeyDir},username=${identity}\n`);
    process.stdout.write(`  nbdcopy, nbdinfo:  ${uri}/<volume-id>?tls-psk-file=${keyFile}\n`);
  } else if (nbdSecurity !== undefined) {
    process.stdout.write(`NBD key: as given (--nbd-psk-file), identity ${nbdSecurity.psk.identity}\n`);
  }
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
