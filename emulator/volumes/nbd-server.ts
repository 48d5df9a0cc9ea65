// An NBD server (fixed newstyle handshake, simple replies) exporting BlockDevices by name, written
// from the protocol specification. Each connection runs one loop that parses requests and starts
// them in order (up to MAX_IN_FLIGHT at once); replies carry the request's handle. Bytes arrive
// in one reused receive buffer (UserBufferReader); WRITE payloads and READ replies live in pooled
// buffers, so steady traffic allocates nothing large. Small replies written in one event-loop turn
// go out in a single writev; large read replies (header and payload in one buffer) at once.
// Access control: TLS with a pre-shared key (nbd-tls.ts) unless the server is "insecure", which it
// may only be on loopback; a handshake must finish within a time limit, and each client address
// may hold only so many connections.

import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import { type BlockDevice, StorageError } from "./block-device.ts";
import * as P from "./nbd-protocol.ts";
import { type NbdSecurity, isLoopbackHost, upgradeToTls } from "./nbd-tls.ts";

export interface NbdExport {
  device: BlockDevice;
  /** Export read-only even if the device is writable (read-only attachments). */
  readOnly?: boolean;
  description?: string;
}

export interface NbdServerOptions {
  /** Resolves an export name (may be "" for the default export); undefined if there is none. */
  lookup(name: string): NbdExport | undefined | Promise<NbdExport | undefined>;
  /** Names for NBD_OPT_LIST. */
  list(): string[] | Promise<string[]>;
  /** Where protocol errors and closed connections are reported; defaults to stderr. */
  log?: (message: string) => void;
  /** TLS with a pre-shared key, required of every client before any export is named; or
   *  "insecure": plain NBD, which `listen` allows on loopback addresses only. */
  security: NbdSecurity;
  /** A client must have chosen an export (TLS included) within this time, or is dropped. */
  handshakeTimeoutMs?: number;
  /** Open connections one client address may hold; further ones are closed at once. */
  maxConnectionsPerClient?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Enough for a hypervisor host running a few dozen guests off one address, and for nbdcopy's
 *  multi-connection copies; far below what exhausts file descriptors. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;

/** Thrown inside a connection when the peer broke the protocol: the connection is dropped. */
class ProtocolViolation extends Error {}
class ConnectionClosed extends Error {}
/** The client failed access control (TLS, time limit): the connection is dropped. */
class HandshakeRefused extends Error {}

const HIGH_WATER_BYTES = 64 * 1024 * 1024; // pause reading / wait for drain beyond this
const MAX_IN_FLIGHT = 32; // requests of one connection executing at once
const LINGER_MS = 2000; // how long a connection the server ended waits for the peer to close

interface Request {
  type: number;
  flags: number;
  handle: Buffer;
  offset: bigint;
  length: number;
  payload: Payload | undefined;
}

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

/** How a connection receives bytes: exact counts, with backpressure to the peer. */
interface Reader {
  /** n bytes if already buffered, otherwise undefined (lets the hot path skip an await). The
   *  buffer stays valid (it is the caller's). */
  tryTake(n: number): Buffer | undefined;
  take(n: number): Promise<Buffer>;
  /** A WRITE payload of n bytes: its pieces, and a pooled buffer to release once written. */
  takePayload(n: number): Payload | Promise<Payload>;
}

interface Payload {
  pieces: Buffer[];
  /** Return to `payloadPool` once the device write settled. */
  pooled?: Buffer;
}

/**
 * Node's default way to receive: every read allocates a fresh 64 KiB buffer handed to a "data"
 * event. Payloads are taken as the list of received pieces (views, no copy) and handed to
 * BlockDevice.writev. Used when the faster UserBufferReader is unavailable (see
 * NbdServer.receivePaths).
 */
class DataEventReader implements Reader {
  private readonly socket: Socket;
  /** Received buffers; those before `head` are consumed. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > HIGH_WATER_BYTES) this.socket.pause();
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    }
  };

  private readonly onEnd = (): void => {
    this.closed = true;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  get available(): number {
    return this.buffered;
  }

  /** Stops receiving: the socket's bytes go to whoever reads it next (TLS after STARTTLS). */
  detach(): void {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
  }

  private consumed(n: number): void {
    this.buffered -= n;
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    if (this.buffered < HIGH_WATER_BYTES / 2 && this.socket.isPaused()) this.socket.resume();
  }

  /** n bytes if already buffered, otherwise undefined (lets the hot path skip an await). */
  tryTake(n: number): Buffer | undefined {
    if (this.buffered < n) return undefined;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks[this.head++] = EMPTY;
      else this.chunks[this.head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.head] as Buffer;
        const take = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (take === chunk.length) this.chunks[this.head++] = EMPTY;
        else this.chunks[this.head] = chunk.subarray(take);
      }
    }
    this.consumed(n);
    return out;
  }

  /** n bytes as views of the received buffers, if already buffered. */
  tryTakePieces(n: number): Buffer[] | undefined {
    if (this.buffered < n) return undefined;
    const pieces: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[this.head] as Buffer;
      if (chunk.length <= left) {
        pieces.push(chunk);
        left -= chunk.length;
        this.chunks[this.head++] = EMPTY;
      } else {
        pieces.push(chunk.subarray(0, left));
        this.chunks[this.head] = chunk.subarray(left);
        left = 0;
      }
    }
    this.consumed(n);
    return pieces;
  }

  /** Resolves once at least n bytes are buffered; rejects if the peer closes first. */
  async waitFor(n: number): Promise<void> {
    while (this.buffered < n) {
      if (this.closed) throw new ConnectionClosed("peer closed the connection");
      if (this.socket.isPaused()) this.socket.resume();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  async take(n: number): Promise<Buffer> {
    await this.waitFor(n);
    return this.tryTake(n) as Buffer;
  }

  takePayload(n: number): Payload | Promise<Payload> {
    const pieces = this.tryTakePieces(n);
    if (pieces !== undefined) return { pieces };
    return this.waitFor(n).then(() => ({ pieces: this.tryTakePieces(n) as Buffer[] }));
  }
}

/**
 * Receives into one reused 1 MiB buffer (the `onread` mechanism Node offers to client sockets,
 * attached here to an accepted socket), copying each read straight into its destination: the
 * pending WRITE payload buffer if the loop is waiting for one, else a reused staging buffer.
 * Compared with DataEventReader this avoids a fresh 64 KiB allocation per read (page faults and
 * external-memory garbage collections) and reads up to 1 MiB per syscall: measured here, receiving
 * 1 GiB cost 0.12-0.17 s of CPU instead of 0.6-0.7 s.
 */
class UserBufferReader implements Reader {
  private readonly socket: Socket;
  private stage = Buffer.allocUnsafeSlow(STAGE_INITIAL_BYTES);
  private start = 0;
  private end = 0;
  /** Destination registered by takePayload while its bytes have not all arrived. */
  private claim:
    | { target: Buffer; at: number; need: number; resolve: () => void; reject: (e: Error) => void }
    | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private paused = false;

  /** Installs the reader on a just-accepted socket; undefined when this Node cannot do that. */
  static attach(socket: Socket): UserBufferReader | undefined {
    if (process.env.VIRTFORM_NBD_DATA_EVENTS === "1") return undefined;
    const symbols = Object.getOwnPropertySymbols(socket);
    const kBuffer = symbols.find((s) => s.description === "kBuffer");
    const kBufferCb = symbols.find((s) => s.description === "kBufferCb");
    const slots = socket as unknown as Record<symbol, unknown> & {
      _handle?: { useUserBuffer?: (buffer: Uint8Array) => void };
    };
    const handle = slots._handle;
    if (kBuffer === undefined || kBufferCb === undefined || slots[kBuffer] !== null) return undefined;
    if (typeof handle?.useUserBuffer !== "function") return undefined;
    const reader = new UserBufferReader(socket);
    const buffer = Buffer.allocUnsafeSlow(RECEIVE_BUFFER_BYTES);
    slots[kBuffer] = buffer;
    slots[kBufferCb] = reader.onBytes;
    handle.useUserBuffer(buffer);
    return reader;
  }

  private constructor(socket: Socket) {
    this.socket = socket;
    const end = () => {
      this.closed = true;
      const claim = this.claim;
      this.claim = undefined;
      claim?.reject(new ConnectionClosed("peer closed the connection"));
      this.wakeUp();
    };
    socket.on("end", end);
    socket.on("close", end);
  }

  private wakeUp(): void {
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    }
  }

  /** Called by Node with the bytes just read into the shared buffer; they must be copied now. */
  private readonly onBytes = (nread: number, buffer: Buffer): boolean => {
    let from = 0;
    const claim = this.claim;
    if (claim !== undefined) {
      from = Math.min(nread, claim.need);
      buffer.copy(claim.target, claim.at, 0, from);
      claim.at += from;
      claim.need -= from;
      if (claim.need === 0) {
        this.claim = undefined;
        claim.resolve();
      }
    }
    if (from < nread) {
      this.append(buffer, from, nread);
      if (this.end - this.start > HIGH_WATER_BYTES && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      this.wakeUp();
    }
    return true;
  };

  private append(buffer: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.end + n > this.stage.length) {
      const held = this.end - this.start;
      if (held + n > this.stage.length) {
        let size = this.stage.length * 2;
        while (size < held + n) size *= 2;
        const bigger = Buffer.allocUnsafeSlow(size);
        this.stage.copy(bigger, 0, this.start, this.end);
        this.stage = bigger;
      } else {
        this.stage.copy(this.stage, 0, this.start, this.end);
      }
      this.start = 0;
      this.end = held;
    }
    buffer.copy(this.stage, this.end, from, to);
    this.end += n;
  }

  private consumed(n: number): void {
    this.start += n;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      // A staging buffer grown for a burst goes back to its initial size once empty.
      if (this.stage.length > STAGE_KEEP_BYTES) this.stage = Buffer.allocUnsafeSlow(STAGE_INITIAL_BYTES);
    }
    if (this.paused && this.end - this.start < HIGH_WATER_BYTES / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  tryTake(n: number): Buffer | undefined {
    if (this.end - this.start < n) return undefined;
    const out = smallBuffer(n);
    this.stage.copy(out, 0, this.start, this.start + n);
    this.consumed(n);
    return out;
  }

  async take(n: number): Promise<Buffer> {
    for (;;) {
      const got = this.tryTake(n);
      if (got !== undefined) return got;
      if (this.closed) throw new ConnectionClosed("peer closed the connection");
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  takePayload(n: number): Payload | Promise<Payload> {
    const pooled = n > 0 ? payloadPool.acquire(n) : undefined;
    const target = pooled === undefined ? EMPTY : pooled.subarray(0, n);
    const payload: Payload = pooled === undefined ? { pieces: [target] } : { pieces: [target], pooled };
    const have = Math.min(n, this.end - this.start);
    if (have > 0) {
      this.stage.copy(target, 0, this.start, this.start + have);
      this.consumed(have);
    }
    if (have === n) return payload;
    if (this.closed) {
      if (pooled !== undefined) payloadPool.release(pooled);
      throw new ConnectionClosed("peer closed the connection");
    }
    return new Promise<Payload>((resolve, reject) => {
      this.claim = {
        target,
        at: have,
        need: n - have,
        resolve: () => resolve(payload),
        reject: (error) => {
          if (pooled !== undefined) payloadPool.release(pooled);
          reject(error);
        },
      };
    });
  }
}

const EMPTY = Buffer.alloc(0);

class Connection {
  /** The accepted TCP socket, then the TLS socket on it once the client started TLS. */
  private socket: Socket;
  private readonly tcp: Socket;
  private readonly options: NbdServerOptions;
  private readonly log: (message: string) => void;
  private reader: Reader;
  readonly usesUserBuffer: boolean;
  private corked = false;
  private noZeroes = false;
  /** Set once NBD_OPT_STARTTLS succeeded. */
  private secure = false;

  constructor(socket: Socket, options: NbdServerOptions, log: (message: string) => void) {
    this.socket = socket;
    this.tcp = socket;
    this.options = options;
    this.log = log;
    // A socket that will be handed to TLS keeps Node's own receive path: the user-buffer one
    // takes over the socket's handle, which TLS needs to read from.
    const fast = options.security === "insecure" ? UserBufferReader.attach(socket) : undefined;
    this.usesUserBuffer = fast !== undefined;
    this.reader = fast ?? new DataEventReader(socket);
  }

  async run(): Promise<void> {
    const limitMs = this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.log(`handshake not finished within ${limitMs / 1000} s, closing connection`);
      this.destroy();
    }, limitMs);
    let selected: { export: NbdExport; flags: number } | undefined;
    try {
      selected = await this.handshake();
    } catch (error) {
      if (timedOut) throw new ConnectionClosed("handshake timed out");
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (selected === undefined) return;
    await this.transmission(selected.export, selected.flags);
  }

  destroy(): void {
    this.socket.destroy();
    this.tcp.destroy();
  }

  /** Answers NBD_OPT_STARTTLS and continues the handshake inside TLS. */
  private async startTls(length: number): Promise<void> {
    const security = this.options.security;
    if (length !== 0) {
      await this.reader.take(length);
      this.optionReply(P.OPT_STARTTLS, P.REP_ERR_INVALID, Buffer.from("NBD_OPT_STARTTLS takes no data"));
      return;
    }
    if (security === "insecure") {
      this.optionReply(P.OPT_STARTTLS, P.REP_ERR_UNSUP, Buffer.from("TLS is not enabled on this server"));
      return;
    }
    if (this.secure) {
      this.optionReply(P.OPT_STARTTLS, P.REP_ERR_INVALID, Buffer.from("TLS is already in use"));
      return;
    }
    // A server that requires TLS reads the plain-text handshake with a DataEventReader.
    const plain = this.reader as DataEventReader;
    if (plain.available !== 0) {
      // The client must wait for our reply before its TLS hello; bytes now would be plain text
      // smuggled into the encrypted session.
      throw new ProtocolViolation("data sent after NBD_OPT_STARTTLS before its reply");
    }
    this.optionReply(P.OPT_STARTTLS, P.REP_ACK);
    this.flush(); // the reply must leave in plain text, before TLS takes over the socket
    plain.detach();
    try {
      this.socket = await upgradeToTls(this.tcp, security.psk);
    } catch (error) {
      throw new HandshakeRefused((error as Error).message);
    }
    this.reader = new DataEventReader(this.socket);
    this.secure = true;
  }

  // ---- handshake ----

  private async handshake(): Promise<{ export: NbdExport; flags: number } | undefined> {
    const hello = Buffer.alloc(18);
    hello.writeBigUInt64BE(P.NBDMAGIC, 0);
    hello.writeBigUInt64BE(P.IHAVEOPT, 8);
    hello.writeUInt16BE(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES, 16);
    this.send(hello);

    const clientFlags = (await this.reader.take(4)).readUInt32BE(0);
    if ((clientFlags & ~(P.FLAG_C_FIXED_NEWSTYLE | P.FLAG_C_NO_ZEROES)) !== 0) {
      throw new ProtocolViolation(`unknown client flags 0x${clientFlags.toString(16)}`);
    }
    this.noZeroes = (clientFlags & P.FLAG_C_NO_ZEROES) !== 0;

    for (;;) {
      const header = await this.reader.take(16);
      if (header.readBigUInt64BE(0) !== P.IHAVEOPT) {
        throw new ProtocolViolation("option without the IHAVEOPT magic");
      }
      const option = header.readUInt32BE(8);
      const length = header.readUInt32BE(12);
      if (length > P.MAX_OPTION_BYTES) {
        throw new ProtocolViolation(`option ${option} carries ${length} bytes of data`);
      }
      if (option === P.OPT_STARTTLS) {
        await this.startTls(length);
        continue;
      }
      const data = await this.reader.take(length);
      if (!this.secure && this.options.security !== "insecure") {
        // The spec's "forced TLS": only STARTTLS and ABORT work before TLS.
        if (option === P.OPT_EXPORT_NAME) {
          throw new HandshakeRefused("NBD_OPT_EXPORT_NAME before TLS (this server requires TLS)");
        }
        if (option === P.OPT_ABORT) {
          this.optionReply(option, P.REP_ACK);
          this.socket.end();
          return undefined;
        }
        this.optionReply(option, P.REP_ERR_TLS_REQD, Buffer.from("this server requires TLS with a pre-shared key (NBD_OPT_STARTTLS)"));
        continue;
      }
      switch (option) {
        case P.OPT_EXPORT_NAME: {
          const name = data.toString("utf8");
          const found = await this.options.lookup(name);
          if (found === undefined) {
            // This option has no way to report an error: the spec says to drop the connection.
            this.log(`NBD_OPT_EXPORT_NAME: no export named ${JSON.stringify(name)}`);
            this.socket.end();
            return undefined;
          }
          const flags = transmissionFlags(found);
          const reply = Buffer.alloc(this.noZeroes ? 10 : 134);
          reply.writeBigUInt64BE(BigInt(found.device.sizeBytes), 0);
          reply.writeUInt16BE(flags, 8);
          this.send(reply);
          return { export: found, flags };
        }
        case P.OPT_ABORT:
          this.optionReply(option, P.REP_ACK);
          this.socket.end();
          return undefined;
        case P.OPT_LIST: {
          if (length !== 0) {
            this.optionReply(option, P.REP_ERR_INVALID, Buffer.from("NBD_OPT_LIST takes no data"));
            break;
          }
          for (const name of await this.options.list()) {
            const encoded = Buffer.from(name, "utf8");
            const body = Buffer.alloc(4 + encoded.length);
            body.writeUInt32BE(encoded.length, 0);
            encoded.copy(body, 4);
            this.optionReply(option, P.REP_SERVER, body);
          }
          this.optionReply(option, P.REP_ACK);
          break;
        }
        case P.OPT_INFO:
        case P.OPT_GO: {
          const selected = await this.infoOrGo(option, data);
          if (selected !== undefined && option === P.OPT_GO) return selected;
          break;
        }
        default:
          this.optionReply(option, P.REP_ERR_UNSUP, Buffer.from(`option ${option} is not supported`));
      }
    }
  }

  private async infoOrGo(option: number, data: Buffer): Promise<{ export: NbdExport; flags: number } | undefined> {
    const invalid = (why: string) => {
      this.optionReply(option, P.REP_ERR_INVALID, Buffer.from(why));
      return undefined;
    };
    if (data.length < 6) return invalid("option data too short");
    const nameLength = data.readUInt32BE(0);
    if (nameLength > data.length - 6) return invalid("export name length exceeds the option data");
    const name = data.subarray(4, 4 + nameLength).toString("utf8");
    const requests = data.readUInt16BE(4 + nameLength);
    if (data.length !== 6 + nameLength + 2 * requests) return invalid("information request count mismatch");
    const wanted = new Set<number>();
    for (let i = 0; i < requests; i++) wanted.add(data.readUInt16BE(6 + nameLength + 2 * i));

    const found = await this.options.lookup(name);
    if (found === undefined) {
      this.optionReply(option, P.REP_ERR_UNKNOWN, Buffer.from(`no export named ${JSON.stringify(name)}`));
      return undefined;
    }
    const flags = transmissionFlags(found);
    const exportInfo = Buffer.alloc(12);
    exportInfo.writeUInt16BE(P.INFO_EXPORT, 0);
    exportInfo.writeBigUInt64BE(BigInt(found.device.sizeBytes), 2);
    exportInfo.writeUInt16BE(flags, 10);
    this.optionReply(option, P.REP_INFO, exportInfo);
    if (wanted.has(P.INFO_NAME)) {
      this.optionReply(option, P.REP_INFO, Buffer.concat([u16(P.INFO_NAME), Buffer.from(name, "utf8")]));
    }
    if (wanted.has(P.INFO_DESCRIPTION) && found.description !== undefined) {
      this.optionReply(
        option,
        P.REP_INFO,
        Buffer.concat([u16(P.INFO_DESCRIPTION), Buffer.from(found.description, "utf8")]),
      );
    }
    if (wanted.has(P.INFO_BLOCK_SIZE)) {
      const sizes = Buffer.alloc(14);
      sizes.writeUInt16BE(P.INFO_BLOCK_SIZE, 0);
      sizes.writeUInt32BE(1, 2); // any alignment works
      sizes.writeUInt32BE(4096, 6); // avoids read-modify-write of page-cache pages
      sizes.writeUInt32BE(P.MAX_PAYLOAD_BYTES, 10);
      this.optionReply(option, P.REP_INFO, sizes);
    }
    this.optionReply(option, P.REP_ACK);
    return { export: found, flags };
  }

  private optionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): void {
    const header = Buffer.alloc(20);
    header.writeBigUInt64BE(P.OPTION_REPLY_MAGIC, 0);
    header.writeUInt32BE(option, 8);
    header.writeUInt32BE(type, 12);
    header.writeUInt32BE(data.length, 16);
    this.send(header);
    if (data.length > 0) this.send(data);
  }

  // ---- transmission ----

  private async transmission(selected: NbdExport, flags: number): Promise<void> {
    const readOnly = (flags & P.FLAG_READ_ONLY) !== 0;
    // Requests start in arrival order; each device call runs synchronously up to its first await,
    // so writes apply in order, while large reads may overlap (the spec lets replies come out of
    // order; each carries its request's handle).
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      if (this.socket.writableLength > HIGH_WATER_BYTES) await this.drained();
      while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      const header = this.reader.tryTake(28) ?? (await this.reader.take(28));
      const magic = header.readUInt32BE(0);
      if (magic !== P.REQUEST_MAGIC) {
        throw new ProtocolViolation(`bad request magic 0x${magic.toString(16).padStart(8, "0")}`);
      }
      const type = header.readUInt16BE(6);
      const length = header.readUInt32BE(24);
      if ((type === P.CMD_READ || type === P.CMD_WRITE) && length > P.MAX_PAYLOAD_BYTES) {
        throw new ProtocolViolation(
          `${type === P.CMD_READ ? "read" : "write"} of ${length} bytes exceeds the ${P.MAX_PAYLOAD_BYTES}-byte maximum`,
        );
      }
      let payload: Payload | undefined;
      if (type === P.CMD_WRITE) {
        const taken = this.reader.takePayload(length);
        payload = taken instanceof Promise ? await taken : taken;
      }
      if (type === P.CMD_DISC) {
        await Promise.all(inFlight); // the spec: handle outstanding requests, then close
        this.socket.end();
        return;
      }
      const request: Request = {
        type,
        flags: header.readUInt16BE(4),
        handle: Buffer.from(header.subarray(8, 16)),
        offset: header.readBigUInt64BE(16),
        length,
        payload,
      };
      const running = this.execute(selected.device, readOnly, request);
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }
  }

  /** Runs one request and sends its reply; never rejects. */
  private async execute(device: BlockDevice, readOnly: boolean, r: Request): Promise<void> {
    const { handle, length } = r;
    // Offsets beyond 2^53 cannot be inside any device we serve.
    const offset = r.offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(r.offset);
    const fua = (r.flags & P.CMD_FLAG_FUA) !== 0;
    const inRange = offset + length <= device.sizeBytes;
    try {
      switch (r.type) {
        case P.CMD_READ:
          if (!inRange) this.reply(handle, P.EINVAL);
          else if (device.readInto !== undefined) await this.readReply(device, handle, offset, length);
          else this.reply(handle, 0, await device.read(offset, length));
          break;
        case P.CMD_WRITE:
          if (readOnly) this.reply(handle, P.EPERM);
          else if (!inRange) this.reply(handle, P.ENOSPC); // the spec's choice for writes past the end
          else {
            const pieces = (r.payload as Payload).pieces;
            if (device.writev !== undefined) await device.writev(offset, pieces);
            else await device.write(offset, pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, length));
            if (fua) await device.flush();
            this.reply(handle, 0);
          }
          break;
        case P.CMD_FLUSH:
          await device.flush();
          this.reply(handle, 0);
          break;
        case P.CMD_TRIM:
          if (readOnly) this.reply(handle, P.EPERM);
          else if (!inRange) this.reply(handle, P.EINVAL);
          else {
            await device.trim(offset, length);
            if (fua) await device.flush();
            this.reply(handle, 0);
          }
          break;
        case P.CMD_WRITE_ZEROES:
          if (readOnly) this.reply(handle, P.EPERM);
          else if (!inRange) this.reply(handle, P.ENOSPC);
          else {
            if ((r.flags & P.CMD_FLAG_NO_HOLE) !== 0) await writeZeroBytes(device, offset, length);
            else await device.writeZeroes(offset, length);
            if (fua) await device.flush();
            this.reply(handle, 0);
          }
          break;
        default:
          this.reply(handle, P.EINVAL);
      }
    } catch (error) {
      this.reply(handle, errorNumber(error, this.log));
    } finally {
      if (r.payload?.pooled !== undefined) payloadPool.release(r.payload.pooled);
    }
  }

  private reply(handle: Buffer, error: number, data?: Buffer): void {
    const withData = data !== undefined && error === 0;
    const header = smallBuffer(16);
    header.writeUInt32BE(P.SIMPLE_REPLY_MAGIC, 0);
    header.writeUInt32BE(error, 4);
    handle.copy(header, 8);
    this.send(header);
    if (withData) this.send(data);
  }

  /**
   * A successful read reply is one buffer, header then payload, read by the device straight into
   * place; it comes from a free list and returns to it once the socket has sent it.
   */
  private async readReply(device: BlockDevice, handle: Buffer, offset: number, length: number): Promise<void> {
    const size = REPLY_HEADER_BYTES + length;
    const pooled = replyPool.acquire(size);
    const buffer = pooled;
    try {
      await device.readInto?.(offset, length, buffer, REPLY_HEADER_BYTES);
    } catch (error) {
      replyPool.release(pooled);
      throw error;
    }
    buffer.writeUInt32BE(P.SIMPLE_REPLY_MAGIC, 0);
    buffer.writeUInt32BE(0, 4);
    handle.copy(buffer, 8);
    const release = () => replyPool.release(pooled);
    // Large replies go out at once (a cork would only delay them); small ones are batched.
    if (length >= UNCORKED_REPLY_BYTES && !this.corked) this.socket.write(pooled.subarray(0, size), release);
    else this.send(pooled.subarray(0, size), release);
  }

  /** Writes through a cork released on the next turn of the event loop, batching replies. */
  private send(data: Buffer, done?: () => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    if (done === undefined) this.socket.write(data);
    else this.socket.write(data, done);
  }

  private readonly uncork = (): void => {
    if (!this.corked) return; // flushed early
    this.corked = false;
    this.socket.uncork();
  };

  /** Sends what `send` batched now instead of on the next turn of the event loop. */
  private flush(): void {
    this.uncork();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }
}

const REPLY_HEADER_BYTES = 16;
/** Read replies at least this large are written without waiting for the cork to batch them. */
const UNCORKED_REPLY_BYTES = 256 * 1024;
/** Bytes per receive syscall with UserBufferReader. */
const RECEIVE_BUFFER_BYTES = 1024 * 1024;
const STAGE_INITIAL_BYTES = 256 * 1024;
const STAGE_KEEP_BYTES = 4 * 1024 * 1024;
const SLAB_BYTES = 1024 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** A fresh buffer of `size` bytes cut from a shared slab (8-byte aligned), like Buffer's own pool
 *  but big enough for 4 KiB read replies plus their header. */
function smallBuffer(size: number): Buffer {
  if (size > SLAB_BYTES / 8) return Buffer.allocUnsafe(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed = (slabUsed + size + 7) & ~7;
  return out;
}

/** Buffers by capacity (`headroom` + a power of two), reused once released: steady traffic
 *  allocates nothing, so it triggers no external-memory garbage collections. */
class BufferPool {
  private readonly headroom: number;
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  private static readonly MAX_FREE_BYTES = 64 * 1024 * 1024;

  constructor(headroom: number) {
    this.headroom = headroom;
  }

  acquire(size: number): Buffer {
    const capacity = this.headroom + 2 ** Math.ceil(Math.log2(Math.max(1, size - this.headroom)));
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeBytes -= capacity;
      return reused;
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  release(buffer: Buffer): void {
    if (this.freeBytes + buffer.length > BufferPool.MAX_FREE_BYTES) return; // left to the GC
    let list = this.free.get(buffer.length);
    if (list === undefined) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.freeBytes += buffer.length;
  }
}
/** Read replies: the 16-byte header, then the payload. */
const replyPool = new BufferPool(REPLY_HEADER_BYTES);
/** WRITE payloads received by UserBufferReader. */
const payloadPool = new BufferPool(0);

function transmissionFlags(found: NbdExport): number {
  let flags =
    P.FLAG_HAS_FLAGS |
    P.FLAG_SEND_FLUSH |
    P.FLAG_SEND_FUA |
    P.FLAG_SEND_TRIM |
    P.FLAG_SEND_WRITE_ZEROES |
    // BlockDevice.flush persists every completed write, whichever connection made it.
    P.FLAG_CAN_MULTI_CONN;
  if (found.readOnly === true || found.device.readOnly) flags |= P.FLAG_READ_ONLY;
  return flags;
}

function errorNumber(error: unknown, log: (message: string) => void): number {
  if (error instanceof StorageError) {
    switch (error.code) {
      case "ENOSPC":
      case "OVERCOMMIT":
      case "QUOTA":
        return P.ENOSPC;
      case "EPERM":
        return P.EPERM;
      case "EINVAL":
        return P.EINVAL;
      default:
        log(`I/O failed: ${error.message}`);
        return P.EIO;
    }
  }
  log(`I/O failed: ${error instanceof Error ? error.message : String(error)}`);
  return P.EIO;
}

/** Zeroes that stay allocated (NBD_CMD_FLAG_NO_HOLE): real writes, at most 1 MiB at a time. */
async function writeZeroBytes(device: BlockDevice, offset: number, length: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(length, 1024 * 1024));
  for (let done = 0; done < length; done += zeros.length) {
    const n = Math.min(zeros.length, length - done);
    await device.write(offset + done, zeros.subarray(0, n));
  }
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}
