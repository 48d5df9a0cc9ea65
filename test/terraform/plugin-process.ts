// The plugin process started as go-plugin (inside Terraform) starts it, and a gRPC connection to it
// made as Terraform makes it (grpc-js's client, another implementation than ours).
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { selfSignedCertificate } from "../../provider/terraform/certificate.ts";
import { loadMethods } from "../../provider/terraform/protocol.ts";
import { MAGIC_COOKIE } from "../../provider/terraform/server.ts";
import { repoRoot } from "../helpers/cli.ts";
import { firstLines, killQuietly } from "../helpers/processes.ts";

export const pluginPath = join(repoRoot, "bin", "terraform-provider-virtform");
const methods = loadMethods();

export interface LaunchOptions {
  /**
   * Start the plugin from a shell standing in for Terraform (`child` is the shell, `pluginPid` the
   * plugin), so that a test can kill "Terraform" and watch the plugin.
   */
  underParent?: boolean;
}

/** The plugin started as Terraform starts it, connected with grpc-js's client (Terraform's own certificate). */
export async function launch(env: NodeJS.ProcessEnv = {}, { underParent = false }: LaunchOptions = {}) {
  const client = selfSignedCertificate(); // what Terraform passes: its own client certificate
  const options = { env: { ...process.env, ...env, [MAGIC_COOKIE.key]: MAGIC_COOKIE.value, PLUGIN_CLIENT_CERT: client.certPem }, stdio: ["ignore", "pipe", "inherit"] as ["ignore", "pipe", "inherit"] };
  // The shell prints the plugin's pid, then waits for it as Terraform would.
  const script = '"$0" & echo "$!"; wait';
  const child = underParent ? spawn("/bin/sh", ["-c", script, pluginPath], options) : spawn(pluginPath, [], options);
  const lines = await firstLines(child.stdout!, underParent ? 2 : 1);
  const line = lines.find((l) => l.startsWith("1|"))!;
  const pluginPid = underParent ? Number(lines.find((l) => /^\d+$/.test(l))) : child.pid!;
  const [, , , address, , der] = line.split("|");
  const serverPem = new X509Certificate(Buffer.from(der!, "base64")).toString();
  const credentials = grpc.credentials.createSsl(Buffer.from(serverPem), Buffer.from(client.keyPem), Buffer.from(client.certPem));
  const connection = new grpc.Client(address!, credentials, { "grpc.ssl_target_name_override": "localhost" });
  const exited = () => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
  // The stdout pipe ends when every process holding it has exited: the plugin too, whoever its parent is.
  const stdoutClosed = new Promise<void>((resolve) => child.stdout!.once("close", resolve).resume());
  /** A unary call as Terraform makes it: status and reply (decoded, or its bytes with raw), or the gRPC error. */
  const call = (path: string, request: unknown, raw = false) =>
    new Promise<{ reply?: unknown; error?: grpc.ServiceError }>((resolve) => {
      const codec = methods.get(path) ?? methods.get("/grpc.health.v1.Health/Check")!;
      connection.makeUnaryRequest(
        path,
        (value: unknown) => Buffer.from(codec.encodeRequest(value)),
        (bytes: Buffer) => (raw ? bytes : codec.decodeReply(bytes)),
        request,
        (error, reply) => resolve(error ? { error } : { reply }),
      );
    });
  const close = () => {
    connection.close();
    child.kill();
    if (underParent) killQuietly(pluginPid);
  };
  return { child: child as ChildProcess, pluginPid, line, connection, call, exited, stdoutClosed, close };
}
