// The part of gRPC the plugin serves: unary calls, and server streams left open with nothing sent
// (GRPCStdio), on our own HTTP/2 server (./http2/). Terraform makes some 15,000 calls in a plan of
// 5,000 resources: @grpc/grpc-js spent more time per call (interceptors, channelz, metadata objects)
// than the provider's own work, and node:http2 after it about 0.1 ms a call in its stream objects
// (docs/plugin-protocol, gRPC over HTTP/2: a request is HEADERS and length-prefixed messages; a reply
// is HEADERS, messages, trailers with grpc-status).
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { serveConnection, type Call } from "./http2/connection.ts";
import { encodeHeaders, type HeaderList } from "./http2/hpack.ts";

/** One method: how its messages are read and written, and what it does. */
export interface Method {
  decode(bytes: Uint8Array): unknown;
  encode(reply: unknown): Uint8Array;
  /** A unary call's reply. */
  call?(request: unknown): Promise<unknown>;
  /** A server stream: opened, and left open without a message. */
  openStream?: true;
}

/** Finds the method for "/package.Service/Method", or a promise of it while the service loads. */
export type Lookup = (path: string) => Method | undefined | Promise<Method | undefined>;

export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  /** The one client certificate accepted (go-plugin's AutoMTLS: Terraform's own, self-signed). */
  clientCertPem: string;
}

/** gRPC status codes used here. */
const STATUS = { OK: 0, UNIMPLEMENTED: 12, INTERNAL: 13 } as const;

export interface GrpcServer {
  port: number;
  close(): void;
}

const REPLY_HEADERS: HeaderList = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const REPLY_BLOCK = encodeHeaders(REPLY_HEADERS);
const OK_TRAILERS = encodeHeaders([["grpc-status", String(STATUS.OK)]]);

/** Serves on a loopback port the system picks: mutual TLS with `tls` (HTTP/2 by ALPN), plaintext HTTP/2 without. */
export function serveGrpc(lookup: Lookup, tls: TlsIdentity | undefined): Promise<GrpcServer> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    serveConnection(socket, (call) => void answer(call, lookup));
  };
  // Small replies leave at once: Nagle's wait for the client's delayed acknowledgement would stall every call.
  const server: Server = tls
    ? createTlsServer(
        { key: tls.keyPem, cert: tls.certPem, ca: tls.clientCertPem, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ["h2"], noDelay: true },
        onSocket,
      )
    : createNetServer({ noDelay: true }, onSocket);
  // A client that fails the TLS handshake (not Terraform) is refused; nothing to report.
  server.on("tlsClientError", () => undefined);
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", fail);
      done({
        port: (server.address() as AddressInfo).port,
        close: () => {
          server.close();
          for (const socket of sockets) socket.destroy();
        },
      });
    });
  });
}

async function answer(call: Call, lookup: Lookup): Promise<void> {
  const path = call.headers[":path"] ?? "";
  let method: Method | undefined;
  try {
    method = await lookup(path);
    if (!method) return fail(call, STATUS.UNIMPLEMENTED, `unknown method ${path}`);
    if (!(call.headers["content-type"] ?? "").startsWith("application/grpc")) return fail(call, STATUS.INTERNAL, "content-type must be application/grpc");
    const message = onlyMessage(call.body);
    if (message === "compressed") return fail(call, STATUS.UNIMPLEMENTED, "compressed messages are not accepted", [["grpc-accept-encoding", "identity"]]);
    const request = method.decode(message);
    if (method.openStream) return call.respondOpen(REPLY_BLOCK);
    const reply = method.encode(await method.call!(request));
    call.respond(REPLY_BLOCK, frame(reply), OK_TRAILERS);
  } catch (err) {
    // The methods turn every refusal into a diagnostic; what reaches here is a bug (or a message
    // that does not decode). Its stack goes to stderr, which Terraform logs (TF_LOG=debug).
    process.stderr.write(`terraform-provider-virtform: ${path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fail(call, STATUS.INTERNAL, `bug in terraform-provider-virtform: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A reply with no message: headers and status in one HEADERS frame ("Trailers-Only"). */
function fail(call: Call, status: number, message: string, extra: HeaderList = []): void {
  call.respond(encodeHeaders([...REPLY_HEADERS, ["grpc-status", String(status)], ["grpc-message", percentEncoded(message)], ...extra]));
}

/** grpc-message's encoding: printable ASCII but "%" as it is, every other byte of the UTF-8 as %XX. */
export function percentEncoded(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** The request's message: one length-prefixed message (an empty body is an empty message). */
function onlyMessage(body: Buffer): Uint8Array | "compressed" {
  if (body.length === 0) return body;
  if (body.length < 5) throw new Error(`a gRPC message of ${body.length} bytes`);
  if (body[0] !== 0) return "compressed";
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw new Error(`a gRPC message of ${length} bytes in a request body of ${body.length}`);
  return body.subarray(5);
}

/** The length-prefixed message: no compression, four bytes of length, the message. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}
