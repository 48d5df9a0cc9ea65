// The plugin process as go-plugin (inside Terraform) expects it: check the magic cookie, serve gRPC
// with mutual TLS on a loopback port, print the handshake line, and exit on GRPCController.Shutdown
// or when Terraform is gone without one (provider/parent-watch.ts).
// The handshake comes first. The schema, the health check and Shutdown are answered from the
// generated fixed replies (fixed-replies.ts): Terraform's first launch of a command asks for nothing
// else, and never loads the message definitions or the provider service (zod, the kinds). The first
// call that needs the service loads it; calls wait for it.
import { selfSignedCertificate } from "./certificate.ts";
import { fixedMethods, readFixedReplies } from "./fixed-replies.ts";
import { serveGrpc, type GrpcServer, type Method } from "./grpc-server.ts";
import { exitWithParent } from "../parent-watch.ts";
import type { ProviderOptions } from "./provider-service.ts";
import type { MethodCodec } from "./protocol.ts";

export const MAGIC_COOKIE = { key: "TF_PLUGIN_MAGIC_COOKIE", value: "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2" } as const;
const PROTOCOL_VERSION = 6;

export interface ServeOptions extends ProviderOptions {
  /** Called by GRPCController.Shutdown, or once Terraform is gone (the process exits). */
  exit: () => void;
}

/** Starts the plugin: refuses to run outside Terraform, serves, and prints the handshake line. */
export async function servePlugin(options: ServeOptions): Promise<GrpcServer> {
  if (process.env[MAGIC_COOKIE.key] !== MAGIC_COOKIE.value) {
    process.stderr.write("terraform-provider-virtform is a Terraform plugin: Terraform starts it (see README: Terraform). It is not meant to be run directly.\n");
    process.exit(1);
  }
  exitWithParent(options.exit);
  // Ctrl-C in a terminal reaches Terraform's whole process group, this plugin too. Terraform then
  // stops gracefully: it lets the calls under way finish (an object made but not yet reported would
  // be lost to its state), then calls Shutdown. go-plugin's plugins ignore it for the same reason.
  process.on("SIGINT", () => undefined);
  const identity = selfSignedCertificate();
  const clientCertPem = process.env.PLUGIN_CLIENT_CERT;
  const entries = readFixedReplies();
  const fixed = fixedMethods(entries, (path) => {
    if (path === SHUTDOWN) exitSoon(options.exit);
  });
  let methods: Promise<Map<string, Method>> | undefined;
  // A path the plugin does not serve is UNIMPLEMENTED at once, without loading anything.
  const lookup = (path: string) => fixed.get(path) ?? (entries.has(path) ? (methods ??= pluginMethods(options)).then((all) => all.get(path)) : undefined);
  const server = await serveGrpc(lookup, clientCertPem ? { keyPem: identity.keyPem, certPem: identity.certPem, clientCertPem } : undefined);
  const cert = clientCertPem ? `|${identity.der.toString("base64").replace(/=+$/, "")}` : "";
  process.stdout.write(`1|${PROTOCOL_VERSION}|tcp|127.0.0.1:${server.port}|grpc${cert}\n`);
  return server;
}

const SHUTDOWN = "/plugin.GRPCController/Shutdown";

/**
 * Shutdown's effect: Terraform waits for the process to end, not for the reply (it ignores Shutdown's
 * errors): exit once the reply is on its way; the open GRPCStdio stream would hold a graceful shutdown.
 */
function exitSoon(exit: () => void): void {
  setTimeout(exit, 10);
}

/** What each gRPC path does: the tfplugin6 Provider, go-plugin's controller and stdio, the health check. */
async function pluginMethods(options: ServeOptions): Promise<Map<string, Method>> {
  const [{ loadMethods }, { providerService }] = await Promise.all([import("./protocol.ts"), import("./provider-service.ts")]);
  return methodTable(loadMethods(), providerService(options), options.exit);
}

/**
 * The gRPC paths of a plugin whose tfplugin6.Provider methods are `provider`'s (by name), with
 * go-plugin's controller and stdio and the health check around them. Also the bench's floor
 * provider's (bench/compare-terraform/floor-provider.ts).
 */
export function methodTable(codecs: ReadonlyMap<string, MethodCodec>, provider: Record<string, (request: never) => unknown>, exit: () => void): Map<string, Method> {
  const own: Record<string, (request: never) => unknown> = {
    "/grpc.health.v1.Health/Check": () => ({ status: 1 }), // SERVING
    [SHUTDOWN]: () => (exitSoon(exit), {}),
  };
  const methods = new Map<string, Method>();
  for (const [path, codec] of codecs) {
    const base = { decode: codec.decodeRequest, encode: codec.encodeReply };
    // Our output goes to the real stderr, which Terraform logs; the relayed stream stays open and empty.
    if (codec.serverStream) methods.set(path, { ...base, openStream: true });
    else {
      // A method this provider does not implement (a newer protocol's) is left out: UNIMPLEMENTED.
      const call = codec.service === "tfplugin6.Provider" ? provider[codec.name] : own[path];
      if (call) methods.set(path, { ...base, call: async (request) => call(request as never) });
    }
  }
  return methods;
}
