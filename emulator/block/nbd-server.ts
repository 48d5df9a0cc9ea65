// An NBD server (fixed newstyle handshake, simple replies) exporting BlockDevices by name, written
// from the protocol specification. Each connection runs one loop that parses requests and starts
// them in order (up to MAX_IN_FLIGHT at once); replies carry the request's handle. Bytes arrive
// in one reused receive buffer (UserBufferReader); WRITE payloads and READ replies live in pooled
// buffers, so steady traffic allocates nothing large. Small replies written in one event-loop turn
// go out in a single writev; large read replies (header and payload in one buffer) at once.
// Access control: TLS with a pre-shared key (nbd-tls.ts) unless the server is "insecure", which it
// may only be on loopback; a handshake must finish within a time limit, and each client address
// may hold only so many connections.
//
// Split as nbdkit splits its server: this file listens and accepts (sockets.c), nbd-connection.ts
// is one connection (connections.c) with its readers (nbd-readers.ts) and buffers
// (nbd-buffers.ts), nbd-handshake.ts the handshake (protocol-handshake-newstyle.c),
// nbd-transmission.ts the requests (protocol.c), nbd-errors.ts how failures end or are told.

import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import { Connection } from "./nbd-connection.ts";
import { ConnectionClosed, HandshakeRefused, ProtocolViolation } from "./nbd-errors.ts";
import { DEFAULT_MAX_CONNECTIONS_PER_CLIENT, type NbdServerOptions } from "./nbd-options.ts";
import { isLoopbackHost } from "./nbd-tls.ts";

export { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT, type NbdExport, type NbdServerOptions } from "./nbd-options.ts";

const LINGER_MS = 2000; // how long a connection the server ended waits for the peer to close

export class NbdServer {
  private readonly options: NbdServerOptions;
  private readonly log: (message: string) => void;
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  /** Open connections per client address. */
  private readonly perClient = new Map<string, number>();
  private nextConnection = 1;
  /** Connections accepted per receive path (see UserBufferReader); tests check the fast one is used. */
  readonly receivePaths = { userBuffer: 0, dataEvents: 0 };

  constructor(options: NbdServerOptions) {
    this.options = options;
    this.log = options.log ?? ((m) => process.stderr.write(`nbd: ${m}\n`));
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(at: { host?: string; port?: number } = {}): Promise<{ host: string; port: number }> {
    const host = at.host ?? "127.0.0.1";
    if (this.options.security === "insecure" && !isLoopbackHost(host)) {
      return Promise.reject(new Error(`NBD without TLS is served on loopback addresses only; ${host} needs a pre-shared key`));
    }
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port ?? 0, host, () => {
        server.off("error", reject);
        server.on("error", (e) => this.log(`server error: ${e.message}`));
        resolve({ host, port: (server.address() as AddressInfo).port });
      });
    });
  }

  /** Open connections (each counts against its client's limit until its TCP socket closed). */
  get connectionCount(): number {
    return this.connections.size;
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === "object" ? address.port : undefined;
  }

  /** Stops accepting and drops every open connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const connection of this.connections) connection.destroy();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const id = this.nextConnection++;
    socket.on("error", () => undefined); // reported through the reader as a closed connection
    const client = socket.remoteAddress ?? "unknown";
    const open = this.perClient.get(client) ?? 0;
    const limit = this.options.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    if (open >= limit) {
      this.log(`connection ${id}: refused, ${client} already holds ${open} connections (the limit per client)`);
      socket.destroy();
      return;
    }
    this.perClient.set(client, open + 1);
    socket.setNoDelay(true);
    const connection = new Connection(socket, this.options, (m) => this.log(`connection ${id}: ${m}`));
    this.connections.add(connection);
    // The TCP socket closes last, whether or not a TLS socket was layered on it.
    socket.on("close", () => {
      this.connections.delete(connection);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left === 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    });
    if (connection.usesUserBuffer) this.receivePaths.userBuffer++;
    else this.receivePaths.dataEvents++;
    connection.run().then(
      // The server ended the connection (disconnect, abort): a peer that keeps its side open
      // would hold a slot of its address forever, so it is cut off after a moment.
      () => setTimeout(() => connection.destroy(), LINGER_MS).unref(),
      (error: unknown) => {
        if (!(error instanceof ConnectionClosed)) {
          const message = error instanceof Error ? error.message : String(error);
          const what = error instanceof HandshakeRefused ? "refused" : error instanceof ProtocolViolation ? "protocol violation" : "internal error";
          this.log(`${what}, closing connection: ${message}`);
        }
        connection.destroy();
      },
    );
  }
}
