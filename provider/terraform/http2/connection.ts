// The server side of one HTTP/2 connection (RFC 9113), as much as gRPC's unary calls and an open
// server stream need: a request is HEADERS (and CONTINUATION) and DATA up to END_STREAM; a reply is
// HEADERS, DATA within the client's flow-control windows, and trailers. node:http2 did this too, at
// about 0.1 ms of CPU a call in its stream objects: Terraform makes some 15,000 calls in a plan of
// 5,000 resources, and the provider's per-call cost was most of its overhead (BENCHMARKS.md).
import type { Duplex } from "node:stream";
import { CompressionError, HeaderDecoder, type HeaderList } from "./hpack.ts";
import { MAX_HEADER_LIST_SIZE, requestHeaders, validTrailers } from "./request-headers.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6 } as const;
const ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

/** A frame's payload: the protocol's default (we announce no other). */
const MAX_FRAME_SIZE = 16384;
const MAX_WINDOW = 2 ** 31 - 1;
/**
 * What a client may send on a stream, and on the connection, before a WINDOW_UPDATE of ours. We give
 * the window back as we read (at half of it), so a client never runs out of it: what bounds the
 * memory a client can take is Limits below (a body over them is reset, not slowed down).
 */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 24;
/**
 * What one connection may hold of a client: request bodies are kept whole until their END_STREAM
 * (one message up to 256 MiB, as Terraform's plugin SDK allows, all of them together no more), and
 * streams open at once (Terraform has some ten calls under way, and the stdio stream).
 */
export interface Limits {
  maxBody: number;
  maxBuffered: number;
  maxStreams: number;
}
const LIMITS: Limits = { maxBody: 1 << 28, maxBuffered: 1 << 28, maxStreams: 100 };

/** A request, whole: its headers and its body. */
export interface Call {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The client reset the stream (or we did: its body was over the limits), or the connection is gone: a reply would go nowhere. */
  readonly cancelled: boolean;
  /**
   * Headers, then the body and the trailers if there are any (header blocks as `encodeHeaders`
   * makes them: a reply's usual ones are encoded once); the stream ends with the last of them.
   */
  respond(headers: Buffer, body?: Buffer, trailers?: Buffer): void;
  /** Headers, and the stream left open (a server stream that sends nothing). */
  respondOpen(headers: Buffer): void;
}

/** A stream of the connection; once its request is whole, the call handed over. */
class Stream implements Call {
  readonly id: number;
  readonly headers: Record<string, string>;
  body: Buffer = EMPTY;
  chunks: Buffer[] = [];
  /** How many of chunks are merged ones (the frames after them are merged 64 at a time). */
  merged = 0;
  bodyLength = 0;
  /** Bytes read since the last WINDOW_UPDATE for the stream. */
  unacknowledged = 0;
  remoteEnded = false;
  replied = false;
  cancelled = false;
  sendWindow: number;
  /** What waits for the client's window: DATA payloads, then the trailers' block or the end. */
  outbox: (Buffer | { trailers: Buffer | undefined })[] = [];
  private readonly connection: Connection;

  constructor(connection: Connection, id: number, headers: Record<string, string>, sendWindow: number) {
    this.connection = connection;
    this.id = id;
    this.headers = headers;
    this.sendWindow = sendWindow;
  }

  respond(headers: Buffer, data?: Buffer, trailers?: Buffer): void {
    const hasData = data !== undefined && data.length > 0;
    if (!this.replyHeaders(headers, !hasData && !trailers)) return;
    if (!hasData && !trailers) return this.connection.forget(this, false);
    if (hasData) this.outbox.push(data);
    this.outbox.push({ trailers });
    this.connection.send(this);
  }

  respondOpen(headers: Buffer): void {
    this.replyHeaders(headers, false);
  }

  private replyHeaders(headers: Buffer, end: boolean): boolean {
    if (this.cancelled || this.replied) return false;
    this.replied = true;
    this.connection.headerBlock(this.id, headers, end);
    return true;
  }
}

const EMPTY = Buffer.alloc(0);

class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Serves one connection: `onCall` gets each request once its END_STREAM has come. */
export function serveConnection(socket: Duplex, onCall: (call: Call) => void, limits: Limits = LIMITS): void {
  new Connection(socket, onCall, limits);
}

class Connection {
  private readonly socket: Duplex;
  private readonly onCall: (call: Call) => void;
  private readonly limits: Limits;
  private readonly decoder = new HeaderDecoder();
  private readonly streams = new Map<number, Stream>();
  /** Streams with DATA or trailers waiting for a window. */
  private readonly blocked = new Set<Stream>();
  private input: Buffer | undefined;
  private prefaceSeen = false;
  private settingsSeen = false;
  /** A header block spread over HEADERS and CONTINUATION frames. */
  private continuing: { streamId: number; endStream: boolean; parts: Buffer[]; length: number } | undefined;
  private lastStreamId = 0;
  /** Bytes read on the connection since its last WINDOW_UPDATE; bytes of request bodies held, all streams. */
  private unacknowledged = 0;
  private buffered = 0;
  /** The client changed SETTINGS_HEADER_TABLE_SIZE: our next header block starts with a size update. */
  private tableSizeUpdate = false;
  private writeBlocked = false;
  private peerInitialWindow = 65535;
  private peerMaxFrame = 16384;
  private sendWindow = 65535;
  private output: Buffer = EMPTY;
  private outputLength = 0;
  private flushScheduled = false;
  private closed = false;

  constructor(socket: Duplex, onCall: (call: Call) => void, limits: Limits) {
    this.socket = socket;
    this.onCall = onCall;
    this.limits = limits;
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    // A client that goes away mid-call (Terraform cancelled, or done) is nothing to report.
    socket.on("error", () => undefined);
    socket.on("close", () => this.close());
    // The server's preface: our settings, and the connection's window opened wide.
    const ours: [number, number][] = [
      [SETTING.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [SETTING.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE],
      [SETTING.ENABLE_PUSH, 0],
      [SETTING.MAX_CONCURRENT_STREAMS, limits.maxStreams],
    ];
    const settings = Buffer.alloc(6 * ours.length);
    ours.forEach(([id, value], i) => {
      settings.writeUInt16BE(id, 6 * i);
      settings.writeUInt32BE(value, 6 * i + 2);
    });
    this.frame(FRAME.SETTINGS, 0, 0, settings);
    this.windowUpdate(0, CONNECTION_WINDOW - 65535);
  }

  private read(chunk: Buffer): void {
    if (this.closed) return;
    let data = this.input ? Buffer.concat([this.input, chunk]) : chunk;
    try {
      if (!this.prefaceSeen) {
        if (data.length < PREFACE.length) {
          if (!PREFACE.subarray(0, data.length).equals(data)) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "not an HTTP/2 client preface");
          this.input = data;
          return;
        }
        if (!PREFACE.equals(data.subarray(0, PREFACE.length))) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "not an HTTP/2 client preface");
        this.prefaceSeen = true;
        data = data.subarray(PREFACE.length);
      }
      let at = 0;
      while (data.length - at >= 9 && !this.closed) {
        const length = (data[at]! << 16) | (data[at + 1]! << 8) | data[at + 2]!;
        if (length > MAX_FRAME_SIZE) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, `a frame of ${length} bytes`);
        if (data.length - at < 9 + length) break;
        const type = data[at + 3]!;
        const flags = data[at + 4]!;
        const streamId = data.readUInt32BE(at + 5) & 0x7fffffff;
        this.handle(type, flags, streamId, data.subarray(at + 9, at + 9 + length));
        at += 9 + length;
      }
      this.input = at < data.length ? data.subarray(at) : undefined;
    } catch (err) {
      if (err instanceof ConnectionError) return this.goAway(err.code, err.message);
      // A bug of ours: the connection cannot go on, the process (and its other connections) can.
      process.stderr.write(`terraform-provider-virtform: bug in the HTTP/2 server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      this.goAway(ERROR.INTERNAL_ERROR, "bug in the HTTP/2 server");
    }
  }

  private handle(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen && type !== FRAME.SETTINGS) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "the client's first frame is not SETTINGS");
    if (this.continuing && (type !== FRAME.CONTINUATION || streamId !== this.continuing.streamId)) {
      throw new ConnectionError(ERROR.PROTOCOL_ERROR, "a header block interrupted");
    }
    switch (type) {
      case FRAME.DATA:
        return this.data(flags, streamId, payload);
      case FRAME.HEADERS:
        return this.headers(flags, streamId, payload);
      case FRAME.CONTINUATION:
        if (!this.continuing) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        return this.headerFragment(payload, flags);
      case FRAME.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "PRIORITY on stream 0");
        // Advice only; one of the wrong length is a stream error on an open stream (an idle or closed one is left alone).
        if (payload.length !== 5 && this.streams.has(streamId)) this.refuse(this.streams.get(streamId)!, ERROR.FRAME_SIZE_ERROR);
        return;
      case FRAME.RST_STREAM:
        return this.reset(streamId, payload);
      case FRAME.SETTINGS:
        return this.settings(flags, streamId, payload);
      case FRAME.PING:
        if (streamId !== 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "PING on a stream");
        if (payload.length !== 8) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "a PING not of 8 bytes");
        if (!(flags & FLAG.ACK)) this.frame(FRAME.PING, FLAG.ACK, 0, payload);
        return;
      case FRAME.GOAWAY:
        return; // the client closes the connection when its calls are done
      case FRAME.WINDOW_UPDATE:
        return this.windowIncrement(streamId, payload);
      case FRAME.PUSH_PROMISE:
        throw new ConnectionError(ERROR.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      default:
        return; // unknown frame types are ignored (section 5.5)
    }
  }

  private headers(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    let fragment = unpadded(flags, payload);
    if (flags & FLAG.PRIORITY) {
      if (fragment.length < 5) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "HEADERS too short for its priority");
      fragment = fragment.subarray(5);
    }
    this.continuing = { streamId, endStream: (flags & FLAG.END_STREAM) !== 0, parts: [], length: 0 };
    this.headerFragment(fragment, flags);
  }

  private headerFragment(fragment: Buffer, flags: number): void {
    const block = this.continuing!;
    block.parts.push(fragment);
    // Each frame counts its header too: empty CONTINUATION frames cannot pile up without end.
    block.length += 9 + fragment.length;
    if (block.length > MAX_HEADER_LIST_SIZE) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `a header block over ${MAX_HEADER_LIST_SIZE} bytes`);
    if (!(flags & FLAG.END_HEADERS)) return;
    this.continuing = undefined;
    let list: HeaderList;
    try {
      // Every block is decoded, even one for a stream we refuse: the table must stay in step.
      list = this.decoder.decode(block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts));
    } catch (err) {
      if (err instanceof CompressionError) throw new ConnectionError(ERROR.COMPRESSION_ERROR, err.message);
      throw err;
    }
    this.headerList(block.streamId, block.endStream, list);
  }

  private headerList(streamId: number, endStream: boolean, list: HeaderList): void {
    const existing = this.streams.get(streamId);
    if (existing) {
      // The request's trailers: they must end it. On a stream whose request has ended: a stream error.
      if (existing.remoteEnded) return this.refuse(existing, ERROR.STREAM_CLOSED);
      if (!endStream || !validTrailers(list)) return this.refuse(existing, ERROR.PROTOCOL_ERROR);
      return this.ended(existing);
    }
    // A stream id not above the last one names a closed stream (ended, reset, or skipped: a new id
    // closes the idle streams below it, RFC 9113 section 5.1.1): a stream error, so that a client
    // that reuses an id hears of it instead of waiting.
    if (streamId <= this.lastStreamId) return this.resetStream(streamId, ERROR.STREAM_CLOSED);
    this.lastStreamId = streamId;
    const headers = requestHeaders(list);
    if (!headers) return this.resetStream(streamId, ERROR.PROTOCOL_ERROR);
    if (this.streams.size >= this.limits.maxStreams) return this.resetStream(streamId, ERROR.REFUSED_STREAM);
    const stream = new Stream(this, streamId, headers, this.peerInitialWindow);
    this.streams.set(streamId, stream);
    if (endStream) this.ended(stream);
  }

  private data(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "DATA on stream 0");
    // Flow control counts the whole payload, padding included, whatever becomes of it.
    this.unacknowledged += payload.length;
    if (this.unacknowledged >= CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.unacknowledged);
      this.unacknowledged = 0;
    }
    const stream = this.streams.get(streamId);
    if (!stream) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      return; // a closed stream: ignored
    }
    // After the request's END_STREAM: a stream error, and no reply on the stream we reset.
    if (stream.remoteEnded) return this.refuse(stream, ERROR.STREAM_CLOSED);
    stream.unacknowledged += payload.length;
    const body = unpadded(flags, payload);
    stream.bodyLength += body.length;
    this.buffered += body.length;
    if (stream.bodyLength > this.limits.maxBody || this.buffered > this.limits.maxBuffered) return this.refuse(stream, ERROR.ENHANCE_YOUR_CALM);
    if (body.length > 0) {
      stream.chunks.push(body);
      // Every 64 frames become one buffer, not one object each (nor each its socket chunk kept);
      // only those since the last merge are copied: a byte is copied at most twice, here and at the end.
      if (stream.chunks.length - stream.merged >= 64) {
        stream.chunks.push(Buffer.concat(stream.chunks.splice(stream.merged)));
        stream.merged = stream.chunks.length;
      }
    }
    if (flags & FLAG.END_STREAM) return this.ended(stream);
    if (stream.unacknowledged >= STREAM_WINDOW / 2) {
      this.windowUpdate(stream.id, stream.unacknowledged);
      stream.unacknowledged = 0;
    }
  }

  /** A stream error: the stream is reset and forgotten; its call, if handed over, is cancelled. */
  private refuse(stream: Stream, code: number): void {
    this.forget(stream, true);
    this.resetStream(stream.id, code);
  }

  /** The request is whole: hand it over. */
  private ended(stream: Stream): void {
    stream.remoteEnded = true;
    if (stream.chunks.length > 0) stream.body = stream.chunks.length === 1 ? stream.chunks[0]! : Buffer.concat(stream.chunks);
    stream.chunks = [];
    this.buffered -= stream.bodyLength;
    this.onCall(stream);
  }

  /** Sends what the windows allow of the stream's outbox. */
  send(stream: Stream): void {
    while (stream.outbox.length > 0) {
      const next = stream.outbox[0]!;
      if (Buffer.isBuffer(next)) {
        const size = Math.min(next.length, stream.sendWindow, this.sendWindow, this.peerMaxFrame);
        if (size <= 0) {
          this.blocked.add(stream);
          return;
        }
        stream.sendWindow -= size;
        this.sendWindow -= size;
        const last = size === next.length;
        // With no trailers the last DATA frame ends the stream.
        const end = last && stream.outbox.length === 2 && !(stream.outbox[1] as { trailers?: Buffer }).trailers;
        this.frame(FRAME.DATA, end ? FLAG.END_STREAM : 0, stream.id, next.subarray(0, size));
        if (!last) {
          stream.outbox[0] = next.subarray(size);
          continue;
        }
        stream.outbox.shift();
        if (end) stream.outbox.shift();
      } else {
        // The trailers (a marker without them went with the last DATA frame).
        stream.outbox.shift();
        this.headerBlock(stream.id, next.trailers!, true);
      }
    }
    this.forget(stream, false);
  }

  /** A header block in HEADERS, and CONTINUATION frames past the client's frame size. */
  headerBlock(streamId: number, block: Buffer, endStream: boolean): void {
    let flags = endStream ? FLAG.END_STREAM : 0;
    let type: number = FRAME.HEADERS;
    let rest = block;
    if (this.tableSizeUpdate) {
      // We index nothing: a size update to 0 is within any size the client allows (RFC 7541 section 4.2).
      rest = Buffer.concat([TABLE_SIZE_ZERO, block]);
      this.tableSizeUpdate = false;
    }
    for (;;) {
      const part = rest.subarray(0, this.peerMaxFrame);
      rest = rest.subarray(part.length);
      this.frame(type, flags | (rest.length === 0 ? FLAG.END_HEADERS : 0), streamId, part);
      if (rest.length === 0) return;
      type = FRAME.CONTINUATION;
      flags = 0;
    }
  }

  private reset(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (payload.length !== 4) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "an RST_STREAM not of 4 bytes");
    if (streamId > this.lastStreamId) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
    const stream = this.streams.get(streamId);
    if (stream) this.forget(stream, true);
  }

  private settings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & FLAG.ACK) {
      if (payload.length !== 0) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "a SETTINGS acknowledgement with a payload");
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "a SETTINGS payload not in 6-byte entries");
    this.settingsSeen = true;
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ERROR.FLOW_CONTROL_ERROR, `an initial window of ${value}`);
        // A change applies to every open stream's window (section 6.9.2).
        for (const stream of this.streams.values()) {
          stream.sendWindow += value - this.peerInitialWindow;
          if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ERROR.FLOW_CONTROL_ERROR, `stream ${stream.id}'s window over 2^31-1`);
        }
        this.peerInitialWindow = value;
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        if (value < 16384 || value > 16777215) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `a maximum frame size of ${value}`);
        this.peerMaxFrame = value;
      } else if (id === SETTING.ENABLE_PUSH && value > 1) {
        throw new ConnectionError(ERROR.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
      } else if (id === SETTING.HEADER_TABLE_SIZE) {
        this.tableSizeUpdate = true;
      }
      // The others limit what a server initiates or what a client takes, which our replies stay within.
    }
    this.frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0));
    this.unblock();
  }

  private windowIncrement(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "a WINDOW_UPDATE not of 4 bytes");
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "a WINDOW_UPDATE of 0");
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ERROR.FLOW_CONTROL_ERROR, "the connection's window over 2^31-1");
      return this.unblock();
    }
    if (streamId > this.lastStreamId) throw new ConnectionError(ERROR.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
    const stream = this.streams.get(streamId);
    if (!stream) return; // a stream already done
    if (increment === 0 || stream.sendWindow + increment > MAX_WINDOW) {
      this.forget(stream, true);
      return this.resetStream(streamId, increment === 0 ? ERROR.PROTOCOL_ERROR : ERROR.FLOW_CONTROL_ERROR);
    }
    stream.sendWindow += increment;
    if (this.blocked.has(stream)) this.send(stream);
  }

  private unblock(): void {
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      this.send(stream);
    }
  }

  /** The stream is done with: our reply has ended it, or it was reset; nothing more goes on it. */
  forget(stream: Stream, cancelled: boolean): void {
    if (cancelled) stream.cancelled = true;
    if (!stream.remoteEnded) {
      // Reset before its END_STREAM: what it had sent is let go.
      this.buffered -= stream.bodyLength;
      stream.bodyLength = 0;
      stream.chunks = [];
    }
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
  }

  private resetStream(streamId: number, code: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code, 0);
    this.frame(FRAME.RST_STREAM, 0, streamId, payload);
  }

  private windowUpdate(streamId: number, increment: number): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(increment, 0);
    this.frame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
  }

  private goAway(code: number, message: string): void {
    const payload = Buffer.alloc(8 + Buffer.byteLength(message));
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(message, 8);
    this.frame(FRAME.GOAWAY, 0, 0, payload);
    this.flush();
    this.socket.end();
    this.close();
  }

  private close(): void {
    this.closed = true;
    this.buffered = 0;
    for (const stream of this.streams.values()) stream.cancelled = true;
    this.streams.clear();
    this.blocked.clear();
  }

  /**
   * Frames written in one turn of the event loop leave in one write: each is written into one buffer
   * as it comes (no buffer per frame header, no concatenation at the end).
   */
  private frame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    const size = 9 + payload.length;
    if (this.outputLength + size > this.output.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.output.length * 2, this.outputLength + size, OUTPUT_START));
      this.output.copy(bigger, 0, 0, this.outputLength);
      this.output = bigger;
    }
    const out = this.output;
    let at = this.outputLength;
    out[at++] = payload.length >>> 16;
    out[at++] = (payload.length >>> 8) & 0xff;
    out[at++] = payload.length & 0xff;
    out[at++] = type;
    out[at++] = flags;
    out.writeUInt32BE(streamId, at);
    out.set(payload, at + 4);
    this.outputLength += size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outputLength === 0 || this.socket.destroyed) return;
    // The socket may hold on to what it is given until it is written: the next frames go to a new buffer.
    const bytes = this.output.subarray(0, this.outputLength);
    this.output = EMPTY;
    this.outputLength = 0;
    // A client that does not read what we send (PING acks, resets) is not read either until it does.
    if (!this.socket.write(bytes) && !this.writeBlocked) {
      this.writeBlocked = true;
      this.socket.pause();
      this.socket.once("drain", () => {
        this.writeBlocked = false;
        this.socket.resume();
      });
    }
  }
}

const TABLE_SIZE_ZERO = Buffer.from([0x20]);
/** An output buffer's first size: a turn's replies usually fit (Node takes buffers this small from its pool). */
const OUTPUT_START = 2048;

/** A DATA or HEADERS payload without its padding. */
function unpadded(flags: number, payload: Buffer): Buffer {
  if (!(flags & FLAG.PADDED)) return payload;
  if (payload.length < 1) throw new ConnectionError(ERROR.FRAME_SIZE_ERROR, "a padded frame without its pad length");
  const padding = payload[0]!;
  if (padding >= payload.length) throw new ConnectionError(ERROR.PROTOCOL_ERROR, "padding as long as the frame");
  return payload.subarray(1, payload.length - padding);
}
