// The plugin process as go-plugin (inside Terraform) expects it: check the magic cookie, serve gRPC
// with mutual TLS on a loopback port, print the handshake line, and exit on GRPCController.Shutdown.
// The handshake comes first: the provider service (zod, the kinds, the backends) loads after it,
// while Terraform connects, and its methods wait for it.
import type * as grpcTypes from "@grpc/grpc-js";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { selfSignedCertificate } from "./certificate.ts";
import { loadServices } from "./protocol.ts";
import type { Handler, ProviderOptions } from "./provider-service.ts";

export const MAGIC_COOKIE = { key: "TF_PLUGIN_MAGIC_COOKIE", value: "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2" } as const;
const PROTOCOL_VERSION = 6;

export interface ServeOptions extends ProviderOptions {
  /** Called by GRPCController.Shutdown (the process exits). */
  exit: () => void;
}

/** Starts the plugin: refuses to run outside Terraform, serves, and prints the handshake line. */
export async function servePlugin(options: ServeOptions): Promise<Server> {
  if (process.env[MAGIC_COOKIE.key] !== MAGIC_COOKIE.value) {
    process.stderr.write("terraform-provider-virtform is a Terraform plugin: Terraform starts it (see README: Terraform). It is not meant to be run directly.\n");
    process.exit(1);
  }
  const services = loadServices();
  const identity = selfSignedCertificate();
  const clientCert = process.env.PLUGIN_CLIENT_CERT;
  const credentials = clientCert
    ? ServerCredentials.createSsl(Buffer.from(clientCert), [{ private_key: Buffer.from(identity.keyPem), cert_chain: Buffer.from(identity.certPem) }], true)
    : ServerCredentials.createInsecure();
  const server = new Server({ "grpc.max_receive_message_length": 256 * 1024 * 1024 });
  let provider: Promise<Record<string, Handler>> | undefined;
  const methods: Record<string, Handler> = {};
  for (const name of Object.keys(services.provider)) {
    methods[name] = (call, callback) => {
      provider ??= import("./provider-service.ts").then((m) => m.providerService(options));
      provider.then(
        (service) => service[name]!(call, callback),
        (err: unknown) => callback({ name: "Error", message: `bug in terraform-provider-virtform: ${String(err)}`, code: 13, details: String(err), metadata: undefined as never }),
      );
    };
  }
  server.addService(services.provider, methods as grpcTypes.UntypedServiceImplementation);
  server.addService(services.health, { Check: (_call: unknown, cb: (e: null, r: unknown) => void) => cb(null, { status: 1 }) });
  server.addService(services.controller, {
    Shutdown: (_call: unknown, cb: (e: null, r: unknown) => void) => {
      cb(null, {});
      // Terraform waits for the process to end, not for this reply (it ignores Shutdown's errors):
      // exit as soon as the reply is on its way; the open GRPCStdio stream would hold a graceful shutdown.
      setTimeout(options.exit, 10);
    },
  });
  // Our output goes to the real stderr, which Terraform logs; the relayed stream stays open and empty.
  server.addService(services.stdio, { StreamStdio: () => undefined });
  const port = await new Promise<number>((done, fail) => server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? fail(err) : done(p))));
  const cert = clientCert ? `|${identity.der.toString("base64").replace(/=+$/, "")}` : "";
  process.stdout.write(`1|${PROTOCOL_VERSION}|tcp|127.0.0.1:${port}|grpc${cert}\n`);
  provider ??= import("./provider-service.ts").then((m) => m.providerService(options));
  return server;
}

