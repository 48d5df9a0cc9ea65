// The part of gRPC the plugin serves, on node:http2: unary calls, and server streams left open with
// nothing sent (GRPCStdio). Terraform makes some ten thousand calls in a plan of 5,000 resources, and
// @grpc/grpc-js spent more time per call (interceptors, channelz, metadata objects) than the
// provider's own work, and longer to load than the rest of a launch (docs/plugin-protocol, gRPC over
// HTTP/2: a request is HEADERS and length-prefixed messages; a reply is HEADERS, messages, trailers
// with grpc-status).
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

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

/** Serves on a loopback port the system picks: mutual TLS with `tls`, plaintext HTTP/2 without. */
export function serveGrpc(lookup: Lookup, tls: TlsIdentity | undefined): Promise<GrpcServer> {
  const server = tls
    ? http2.createSecureServer({ key: tls.keyPem, cert: tls.certPem, ca: tls.clientCertPem, requestCert: true, rejectUnauthorized: true })
    : http2.createServer();
  server.on("stream", (stream, headers) => {
    // A client that goes away mid-call (Terraform cancelled) is nothing to report.
    stream.on("error", () => undefined);
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      void answer(stream, String(headers[":path"]), headers, Buffer.concat(chunks), lookup);
    });
  });
  server.on("sessionError", () => undefined);
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", fail);
      done({ port: (server.address() as AddressInfo).port, close: () => server.close() });
    });
  });
}

async function answer(stream: http2.ServerHttp2Stream, path: string, headers: http2.IncomingHttpHeaders, body: Buffer, lookup: Lookup): Promise<void> {
  let method: Method | undefined;
  try {
    method = await lookup(path);
    if (!method) return fail(stream, STATUS.UNIMPLEMENTED, `unknown method ${path}`);
    if (!String(headers["content-type"] ?? "").startsWith("application/grpc")) return fail(stream, STATUS.INTERNAL, "content-type must be application/grpc");
    const message = onlyMessage(body);
    if (message === "compressed") return fail(stream, STATUS.UNIMPLEMENTED, "compressed messages are not accepted", { "grpc-accept-encoding": "identity" });
    const request = method.decode(message);
    if (method.openStream) {
      if (!stream.closed) stream.respond({ ":status": 200, "content-type": "application/grpc" });
      return;
    }
    const reply = method.encode(await method.call!(request));
    if (stream.closed) return;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(STATUS.OK) }));
    stream.end(frame(reply));
  } catch (err) {
    // The methods turn every refusal into a diagnostic; what reaches here is a bug (or a message
    // that does not decode). Its stack goes to stderr, which Terraform logs (TF_LOG=debug).
    process.stderr.write(`terraform-provider-virtform: ${path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    fail(stream, STATUS.INTERNAL, `bug in terraform-provider-virtform: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A reply with no message: headers and status in one HEADERS frame ("Trailers-Only"). */
function fail(stream: http2.ServerHttp2Stream, status: number, message: string, extra: http2.OutgoingHttpHeaders = {}): void {
  if (stream.closed || stream.headersSent) return;
  stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": String(status), "grpc-message": percentEncoded(message), ...extra }, { endStream: true });
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
