// One NBD connection (nbdkit's connections.c): its socket (TCP, then TLS after STARTTLS), how it
// receives (nbd-readers.ts) and sends (replies batched under a cork until the next event-loop
// turn), and its life: the handshake within a time limit, then transmission.

import type { Socket } from "node:net";
import { handshake, type Selected } from "./nbd-handshake.ts";
import { ConnectionClosed, HandshakeRefused } from "./nbd-errors.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, type NbdServerOptions } from "./nbd-options.ts";
import { DataEventReader, type Reader, UserBufferReader } from "./nbd-readers.ts";
import { upgradeToTls } from "./nbd-tls.ts";
import { transmission } from "./nbd-transmission.ts";

export class Connection {
  /** The accepted TCP socket, then the TLS socket on it once the client started TLS. */
  socket: Socket;
  private readonly tcp: Socket;
  readonly options: NbdServerOptions;
  readonly log: (message: string) => void;
  reader: Reader;
  readonly usesUserBuffer: boolean;
  /** Replies written this event-loop turn wait under a cork (see `send`). */
  corked = false;

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
    let selected: Selected | undefined;
    try {
      selected = await handshake(this);
    } catch (error) {
      if (timedOut) throw new ConnectionClosed("handshake timed out");
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (selected === undefined) return;
    await transmission(this, selected.export, selected.flags);
  }

  destroy(): void {
    this.socket.destroy();
    this.tcp.destroy();
  }

  /** Bytes received and not yet taken (before STARTTLS: the plain-text reader's). */
  get bufferedBytes(): number {
    return this.reader instanceof DataEventReader ? this.reader.available : 0;
  }

  /** Layers TLS with the pre-shared key on the TCP socket; the handshake continues inside it. */
  async startTls(psk: Parameters<typeof upgradeToTls>[1]): Promise<void> {
    // A server that requires TLS reads the plain-text handshake with a DataEventReader.
    (this.reader as DataEventReader).detach();
    try {
      this.socket = await upgradeToTls(this.tcp, psk);
    } catch (error) {
      throw new HandshakeRefused((error as Error).message);
    }
    this.reader = new DataEventReader(this.socket);
  }

  /** Writes through a cork released on the next turn of the event loop, batching replies. */
  send(data: Buffer, done?: () => void): void {
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
  flush(): void {
    this.uncork();
  }

  drained(): Promise<void> {
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

