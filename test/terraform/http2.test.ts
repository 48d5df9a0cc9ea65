// The provider's HTTP/2 server (provider/terraform/http2/): HPACK table-tested on RFC 7541's examples,
// and the server driven by node:http2's client (nghttp2, another implementation than ours, which
// Huffman-codes and indexes as Go's does): any headers arrive as sent, replies of any size come
// whole through small flow-control windows, a reset stream is let go, and bytes that are not HTTP/2
// end that connection only. Terraform's own client drives it in test/integration/terraform-provider.test.ts.
import fc from "fast-check";
import http2 from "node:http2";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { serveConnection, type Call, type Limits } from "../../provider/terraform/http2/connection.ts";
import { CompressionError, encodeHeaders, HeaderDecoder, type HeaderList } from "../../provider/terraform/http2/hpack.ts";
import { huffmanDecode, HuffmanError } from "../../provider/terraform/http2/huffman.ts";

const bytes = (hex: string) => Buffer.from(hex.replace(/\s/g, ""), "hex");
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** One HTTP/2 frame as a client writes it. */
const frame = (type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)) => {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
};

describe("HPACK", () => {
  const first: HeaderList = [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ];
  const second: HeaderList = [...first, ["cache-control", "no-cache"]];
  const third: HeaderList = [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ];

  it.each([
    ["C.3, raw strings", ["828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865", "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"]],
    ["C.4, Huffman-coded", ["828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"]],
  ])("decodes RFC 7541 %s: three requests on one connection, the later ones from the dynamic table", (_, blocks) => {
    const decoder = new HeaderDecoder();
    expect(blocks.map((block) => decoder.decode(bytes(block)))).toEqual([first, second, third]);
  });

  it("empties the table on a size update to 0, and then has no entry 62", () => {
    const decoder = new HeaderDecoder();
    decoder.decode(bytes("400a637573746f6d2d6b65790c637573746f6d2d76616c7565"));
    expect(decoder.decode(bytes("be"))).toEqual([["custom-key", "custom-value"]]);
    expect(() => decoder.decode(bytes("20 be"))).toThrow(/header index 62 beyond the table/);
  });

  it.each([
    ["index 0", "80", /header index 0/],
    ["an index past the static table", "bf", /beyond the table/],
    ["a string past the block", "0f 10 05 61", /runs past its block/],
    ["an integer cut short", "ff", /inside an integer/],
    ["a table size over the 4,096 allowed", "3f e1 3f", /dynamic table size of/],
    ["a table size update after a field", "82 20", /size update after a header field/],
    ["Huffman padding that is not EOS's ones", "00 01 61 81 00", /partial symbol/],
  ])("refuses %s with a CompressionError", (_, block, message) => {
    const attempt = () => new HeaderDecoder().decode(bytes(block));
    expect(attempt).toThrow(CompressionError);
    expect(attempt).toThrow(message);
  });

  it("refuses EOS inside a Huffman-coded string, and padding of 8 bits or more", () => {
    expect(() => huffmanDecode(bytes("ff ff ff ff"))).toThrow(HuffmanError); // 30 ones: EOS
    expect(() => huffmanDecode(bytes("ff ff ff ff"))).toThrow(/EOS/);
    expect(() => huffmanDecode(bytes("1f ff"))).toThrow(/partial symbol/); // "a" (00011), then 11 ones
    expect(huffmanDecode(bytes("1f")).toString()).toBe("a");
  });

  it("reads back what it writes: any names and values, static names, long integers", () => {
    const header = fc.tuple(fc.oneof(fc.constantFrom(":status", "content-type", "grpc-status"), fc.string({ minLength: 1, maxLength: 200 })), fc.string({ unit: "binary-ascii", maxLength: 300 }));
    fc.assert(
      fc.property(fc.array(header, { maxLength: 12 }), (list) => {
        expect(new HeaderDecoder().decode(encodeHeaders(list))).toEqual(list.map(([name, value]) => [Buffer.from(name, "latin1").toString("latin1"), value]));
      }),
    );
  });
});

describe("the HTTP/2 server, driven by node:http2's client", () => {
  let server: Server;
  let port: number;
  let onCall: (call: Call) => void;
  beforeAll(async () => {
    server = createServer((socket) => serveConnection(socket, (call) => onCall(call)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  const OK = encodeHeaders([[":status", "200"]]);
  const DONE = encodeHeaders([["x-done", "yes"]]);

  interface Reply {
    headers: http2.IncomingHttpHeaders;
    body: Buffer;
    trailers?: http2.IncomingHttpHeaders;
  }
  const request = (client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer) =>
    new Promise<Reply>((resolve, reject) => {
      const stream = client.request({ ":method": "POST", ":path": "/echo", ...headers });
      const chunks: Buffer[] = [];
      let reply: Reply | undefined;
      stream.on("response", (h) => (reply = { headers: h, body: Buffer.alloc(0) }));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("trailers", (t) => (reply!.trailers = t));
      stream.on("end", () => resolve({ ...reply!, body: Buffer.concat(chunks) }));
      stream.on("error", reject);
      stream.end(body);
    });
  const session = (settings?: http2.Settings) => http2.connect(`http://127.0.0.1:${port}`, { settings });

  it("hands over any headers as sent: Huffman-coded, indexed and evicted over many calls of one connection", async () => {
    onCall = (call) => call.respond(OK, Buffer.from(JSON.stringify(call.headers)), DONE);
    const client = session();
    const name = fc.stringMatching(/^x-[a-z0-9-]{1,30}$/);
    const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 600 }).map((v) => v.trim());
    try {
      await fc.assert(
        fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 8 }), async (sent) => {
          const reply = await request(client, sent);
          expect(reply.headers[":status"]).toBe(200);
          expect(reply.trailers?.["x-done"]).toBe("yes");
          const received = JSON.parse(reply.body.toString()) as Record<string, string>;
          expect(received[":path"]).toBe("/echo");
          for (const [k, v] of Object.entries(sent)) expect(received[k]).toBe(v);
        }),
        { numRuns: 150 },
      );
    } finally {
      client.close();
    }
  });

  it("sends a reply of megabytes through the client's small windows, and reads a request of megabytes", async () => {
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    onCall = (call) => call.respond(OK, call.body.length > 0 ? Buffer.from(String(call.body.equals(big))) : big, DONE);
    const client = session({ initialWindowSize: 1000 });
    try {
      const [download, upload] = await Promise.all([request(client, {}), request(client, {}, big)]);
      expect(download.body.equals(big)).toBe(true);
      expect(download.trailers?.["x-done"]).toBe("yes");
      expect(upload.body.toString()).toBe("true");
    } finally {
      client.close();
    }
  });

  it("lets a stream the client reset go (its reply is dropped), answers PING, and the connection goes on", async () => {
    const waiting: Call[] = [];
    onCall = (call) => waiting.push(call);
    const client = session();
    try {
      const cancelled = client.request({ ":method": "POST", ":path": "/slow" });
      cancelled.on("error", () => undefined);
      cancelled.end();
      await expect.poll(() => waiting.length).toBe(1);
      cancelled.close(http2.constants.NGHTTP2_CANCEL);
      await expect.poll(() => waiting[0]!.cancelled).toBe(true);
      waiting[0]!.respond(OK, Buffer.from("late"), DONE); // goes nowhere
      expect(await new Promise((resolve) => client.ping((err) => resolve(err ?? "pong")))).toBe("pong");
      onCall = (call) => call.respond(OK, Buffer.from("next"), DONE);
      expect((await request(client, {})).body.toString()).toBe("next");
    } finally {
      client.close();
    }
  });

  it("keeps a stream open after its headers (a server stream that sends nothing)", async () => {
    onCall = (call) => (call.headers[":path"] === "/open" ? call.respondOpen(OK) : call.respond(OK, Buffer.from("unary"), DONE));
    const client = session();
    try {
      const open = client.request({ ":method": "POST", ":path": "/open" });
      open.end();
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => open.on("response", resolve));
      expect(headers[":status"]).toBe(200);
      expect((await request(client, {})).body.toString()).toBe("unary");
      expect(open.closed).toBe(false);
      open.close();
    } finally {
      client.close();
    }
  });

  /** Raw bytes to the server: what it sends back before it closes the connection. */
  const raw = (payload: Buffer) =>
    new Promise<Buffer>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(Buffer.concat(chunks)));
      socket.end(payload);
    });
  /** The GOAWAY frame's error code among the frames the server sent, if any. */
  const goAwayCode = (received: Buffer): number | undefined => {
    for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) {
      if (received[at + 3] === 7) return received.readUInt32BE(at + 9 + 4);
    }
    return undefined;
  };

  it.each([
    ["HTTP/1.1 instead of the preface", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 1],
    ["a first frame that is not SETTINGS", Buffer.concat([PREFACE, frame(6, 0, 0, Buffer.alloc(8))]), 1],
    ["HEADERS on an even stream", Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 5, 2, bytes("82"))]), 1],
    ["a header block that does not decode", Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 5, 1, bytes("80"))]), 9],
    ["a frame over 16 KiB", Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(0, 0, 1, Buffer.alloc(20000))]), 6],
    ["a PING of 7 bytes", Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(6, 0, 0, Buffer.alloc(7))]), 6],
  ])("answers %s with GOAWAY and closes that connection only", async (_, payload, code) => {
    expect(goAwayCode(await raw(payload))).toBe(code);
    onCall = (call) => call.respond(OK, Buffer.from("still here"), DONE);
    const client = session();
    expect((await request(client, {})).body.toString()).toBe("still here");
    client.close();
  });

  it("takes any bytes after the preface as the client's mistake, never as a bug of its own, and goes on serving", async () => {
    const reported: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((text: string) => (reported.push(String(text)), true)) as typeof process.stderr.write;
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (noise) => {
          await raw(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), Buffer.from(noise)]));
        }),
        { numRuns: 100 },
      );
    } finally {
      process.stderr.write = write;
    }
    expect(reported.filter((text) => text.includes("bug in the HTTP/2 server"))).toEqual([]);
    onCall = (call) => call.respond(OK, Buffer.from("still here"), DONE);
    const client = session();
    expect((await request(client, {})).body.toString()).toBe("still here");
    client.close();
  });
});

describe("the HTTP/2 server, frame by frame", () => {
  let server: Server;
  let port: number;
  let onCall: (call: Call) => void;
  let limits: Limits;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.push(socket);
      serveConnection(socket, (call) => onCall(call), limits);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    limits = { maxBody: 1 << 28, maxBuffered: 1 << 28, maxStreams: 100 };
  });

  const OK = encodeHeaders([[":status", "200"]]);
  const DONE = encodeHeaders([["x-done", "yes"]]);
  const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const setting = (id: number, value: number) => Buffer.concat([Buffer.from([id >> 8, id & 255]), u32(value)]);
  /** :method POST, :scheme http, :path / (static table 3, 6, 4). */
  const REQUEST = bytes("83 86 84");

  interface Frame {
    type: number;
    flags: number;
    stream: number;
    payload: Buffer;
  }
  /** A raw client: what it sends, and every frame the server sent so far. */
  const client = async () => {
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    let received = Buffer.alloc(0);
    socket.on("data", (chunk) => (received = Buffer.concat([received, chunk])));
    socket.on("error", () => undefined);
    const frames = (): Frame[] => {
      const out: Frame[] = [];
      for (let at = 0; at + 9 <= received.length; ) {
        const length = received.readUIntBE(at, 3);
        if (at + 9 + length > received.length) break;
        out.push({ type: received[at + 3]!, flags: received[at + 4]!, stream: received.readUInt32BE(at + 5), payload: received.subarray(at + 9, at + 9 + length) });
        at += 9 + length;
      }
      return out;
    };
    socket.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]));
    const onStream = (id: number) => frames().filter((f) => f.stream === id);
    return {
      socket,
      frames,
      send: (...parts: Buffer[]) => socket.write(Buffer.concat(parts)),
      onStream,
      /** Each frame on the stream as [type, its first 32 bits] (an RST_STREAM's error code). */
      codes: (id: number) => onStream(id).map((f) => [f.type, f.payload.readUInt32BE(0)]),
      /** The error code of the GOAWAY the server sent, if it did. */
      goAwayCode: () => frames().find((f) => f.type === T.GOAWAY)?.payload.readUInt32BE(4),
    };
  };

  it("reads a header block split over CONTINUATION frames, and padded HEADERS and DATA", async () => {
    onCall = (call) => call.respond(OK, Buffer.from(`${call.headers[":path"]} ${call.body.toString()}`), DONE);
    const c = await client();
    const block = bytes("83 86 04 05 2f 70 61 74 68"); // :path "/path", literal
    c.send(frame(T.HEADERS, 0, 1, block.subarray(0, 2)), frame(T.CONTINUATION, 0, 1, block.subarray(2, 5)), frame(T.CONTINUATION, 4, 1, block.subarray(5)));
    c.send(frame(T.DATA, 1, 1, Buffer.from("body")));
    // Padded (flag 0x8): a pad length, the content, that many bytes of padding.
    c.send(frame(T.HEADERS, 0x4 | 0x8, 3, Buffer.concat([Buffer.from([3]), REQUEST, Buffer.alloc(3)])));
    c.send(frame(T.DATA, 0x1 | 0x8, 3, Buffer.concat([Buffer.from([2]), Buffer.from("padded"), Buffer.alloc(2)])));
    await expect.poll(() => c.onStream(3).length).toBe(3);
    await expect.poll(() => c.onStream(1).length).toBe(3);
    expect(c.onStream(1)[1]!.payload.toString()).toBe("/path body");
    expect(c.onStream(3)[1]!.payload.toString()).toBe("/ padded");
    c.socket.destroy();
  });

  it("ends a connection whose header block never ends (empty CONTINUATION frames) with GOAWAY", async () => {
    onCall = () => undefined;
    const c = await client();
    c.send(frame(T.HEADERS, 0, 1, REQUEST), ...Array.from({ length: 8000 }, () => frame(T.CONTINUATION, 0, 1)));
    await expect.poll(() => c.goAwayCode()).toBe(1);
    c.socket.destroy();
  });

  it("sends nothing more on a stream the client reset, nor on one it sent DATA on after END_STREAM", async () => {
    const waiting: Call[] = [];
    onCall = (call) => waiting.push(call);
    const c = await client();
    c.send(frame(T.HEADERS, 0x5, 1, REQUEST), frame(T.HEADERS, 0x5, 3, REQUEST));
    await expect.poll(() => waiting.length).toBe(2);
    c.send(frame(T.RST_STREAM, 0, 1, u32(8)), frame(T.DATA, 0, 3, Buffer.from("late")));
    await expect.poll(() => waiting.every((call) => call.cancelled)).toBe(true);
    for (const call of waiting) call.respond(OK, Buffer.from("nowhere"), DONE);
    c.send(frame(T.HEADERS, 0x5, 5, REQUEST));
    onCall = (call) => call.respond(OK, Buffer.from("next"), DONE);
    await expect.poll(() => c.onStream(5).length).toBe(3);
    expect(c.onStream(1)).toEqual([]);
    expect(c.codes(3)).toEqual([[T.RST_STREAM, 5]]); // STREAM_CLOSED
    c.socket.destroy();
  });

  it("holds a reply's DATA while the client's window is 0, and sends it when SETTINGS opens the window", async () => {
    onCall = (call) => call.respond(OK, Buffer.alloc(1000, 1), DONE);
    const c = await client();
    c.send(frame(T.SETTINGS, 0, 0, setting(4, 0)), frame(T.HEADERS, 0x5, 1, REQUEST));
    await expect.poll(() => c.onStream(1).length).toBe(1); // HEADERS only
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.onStream(1).map((f) => f.type)).toEqual([T.HEADERS]);
    c.send(frame(T.SETTINGS, 0, 0, setting(4, 600)));
    await expect.poll(() => c.onStream(1).map((f) => f.type)).toEqual([T.HEADERS, T.DATA]);
    c.send(frame(T.WINDOW_UPDATE, 0, 1, u32(400)));
    await expect.poll(() => c.onStream(1).map((f) => [f.type, f.payload.length])).toEqual([
      [T.HEADERS, OK.length],
      [T.DATA, 600],
      [T.DATA, 400],
      [T.HEADERS, DONE.length],
    ]);
    c.socket.destroy();
  });

  it("refuses a stream past the streams it allows at once, and a body past what it holds", async () => {
    limits = { maxBody: 100, maxBuffered: 150, maxStreams: 2 };
    onCall = () => undefined;
    const c = await client();
    c.send(frame(T.HEADERS, 0x4, 1, REQUEST), frame(T.HEADERS, 0x4, 3, REQUEST), frame(T.HEADERS, 0x4, 5, REQUEST));
    await expect.poll(() => c.codes(5)).toEqual([[T.RST_STREAM, 7]]); // REFUSED_STREAM
    c.send(frame(T.DATA, 0, 1, Buffer.alloc(101)));
    await expect.poll(() => c.codes(1)).toEqual([[T.RST_STREAM, 11]]); // ENHANCE_YOUR_CALM
    c.send(frame(T.HEADERS, 0x4, 7, REQUEST), frame(T.DATA, 0, 3, Buffer.alloc(80)), frame(T.DATA, 0, 7, Buffer.alloc(80)));
    await expect.poll(() => c.codes(7)).toEqual([[T.RST_STREAM, 11]]); // 160 held: over 150
    c.socket.destroy();
  });

  it("assembles a body from many frames of any size, and lets the budget go when a body is handed over or reset", async () => {
    limits = { maxBody: 1 << 20, maxBuffered: 300_000, maxStreams: 100 };
    const bodies: Buffer[] = [];
    onCall = (call) => (bodies.push(call.body), call.respond(OK, Buffer.from(String(call.body.length)), DONE));
    const c = await client();
    const sizes = Array.from({ length: 300 }, (_, i) => (i * 7919) % 1000);
    const sent = sizes.map((size, i) => Buffer.alloc(size, i % 256));
    c.send(frame(T.HEADERS, 0x4, 1, REQUEST), ...sent.map((part, i) => frame(T.DATA, i === sent.length - 1 ? 1 : 0, 1, part)));
    await expect.poll(() => bodies.length).toBe(1);
    expect(bodies[0]!.equals(Buffer.concat(sent))).toBe(true);
    // 200,000 bytes held, then handed over (END_STREAM), then 200,000 reset: each time the 300,000 are free again.
    c.send(frame(T.HEADERS, 0x4, 3, REQUEST), ...Array.from({ length: 20 }, (_, i) => frame(T.DATA, i === 19 ? 1 : 0, 3, Buffer.alloc(10_000))));
    await expect.poll(() => bodies.length).toBe(2);
    c.send(frame(T.HEADERS, 0x4, 5, REQUEST), ...Array.from({ length: 20 }, () => frame(T.DATA, 0, 5, Buffer.alloc(10_000))), frame(T.RST_STREAM, 0, 5, u32(8)));
    c.send(frame(T.HEADERS, 0x4, 7, REQUEST), ...Array.from({ length: 20 }, (_, i) => frame(T.DATA, i === 19 ? 1 : 0, 7, Buffer.alloc(10_000))));
    await expect.poll(() => bodies.length).toBe(3);
    expect(bodies[2]!.length).toBe(200_000);
    expect(c.onStream(7).map((f) => f.type)).not.toContain(T.RST_STREAM);
    c.socket.destroy();
  });

  it.each([
    ["WINDOW_UPDATE on an idle stream", () => frame(T.WINDOW_UPDATE, 0, 9, u32(1)), 1],
    ["an initial window that takes an open stream's over 2^31-1", () => Buffer.concat([frame(T.HEADERS, 0x4, 1, REQUEST), frame(T.WINDOW_UPDATE, 0, 1, u32(2 ** 31 - 1 - 65535)), frame(T.SETTINGS, 0, 0, setting(4, 65536))]), 3],
  ])("ends the connection on %s", async (_, frames, code) => {
    onCall = () => undefined;
    const c = await client();
    c.send(frames());
    await expect.poll(() => c.goAwayCode()).toBe(code);
    c.socket.destroy();
  });

  it("resets, and sends no reply on, a stream with a PRIORITY of the wrong length or a second HEADERS without END_STREAM", async () => {
    const waiting: Call[] = [];
    onCall = (call) => waiting.push(call);
    const c = await client();
    c.send(frame(T.HEADERS, 0x5, 1, REQUEST), frame(T.HEADERS, 0x4, 3, REQUEST));
    await expect.poll(() => waiting.length).toBe(1);
    c.send(frame(T.PRIORITY, 0, 1, Buffer.alloc(4)), frame(T.HEADERS, 0x4, 3, bytes("40 01 78 01 79"))); // x: y, no END_STREAM
    await expect.poll(() => waiting[0]!.cancelled).toBe(true);
    waiting[0]!.respond(OK, Buffer.from("nowhere"), DONE);
    onCall = (call) => call.respond(OK, Buffer.from("next"), DONE);
    c.send(frame(T.HEADERS, 0x5, 5, REQUEST));
    await expect.poll(() => c.onStream(5).length).toBe(3);
    expect(c.codes(1)).toEqual([[T.RST_STREAM, 6]]); // FRAME_SIZE_ERROR
    expect(c.codes(3)).toEqual([[T.RST_STREAM, 1]]);
    c.socket.destroy();
  });

  it("resets a stream whose trailers are malformed or reuse a closed id, and ignores DATA on a closed stream", async () => {
    const waiting: Call[] = [];
    onCall = (call) => (waiting.push(call), call.respond(OK, Buffer.from("ok"), DONE));
    const c = await client();
    c.send(frame(T.HEADERS, 0x5, 1, REQUEST)); // answered, then closed
    await expect.poll(() => c.onStream(1).length).toBe(3);
    c.send(frame(T.DATA, 0, 1, Buffer.from("late")), frame(T.HEADERS, 0x5, 1, REQUEST));
    c.send(frame(T.HEADERS, 0x4, 3, REQUEST), frame(T.HEADERS, 0x5, 3, bytes("84"))); // trailers with :path
    c.send(frame(T.HEADERS, 0x5, 5, REQUEST));
    await expect.poll(() => c.onStream(5).length).toBe(3);
    expect(c.onStream(1).slice(3).map((f) => [f.type, f.payload.readUInt32BE(0)])).toEqual([[T.RST_STREAM, 5]]); // the HEADERS, not the DATA
    expect(c.codes(3)).toEqual([[T.RST_STREAM, 1]]);
    expect(waiting.length).toBe(2);
    c.socket.destroy();
  });

  it("refuses a malformed request: an uppercase name, a pseudo-header after a field or repeated or unknown or missing, a connection header, CR LF in a value", async () => {
    onCall = (call) => call.respond(OK, Buffer.from("served"), DONE);
    const c = await client();
    const literal = (name: string, value: string) => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
    c.send(frame(T.HEADERS, 0x5, 1, Buffer.concat([REQUEST, literal("X-Upper", "1")])));
    c.send(frame(T.HEADERS, 0x5, 3, Buffer.concat([bytes("83 86"), literal("x-a", "1"), bytes("84")])));
    c.send(frame(T.HEADERS, 0x5, 5, Buffer.concat([REQUEST, literal("connection", "close")])));
    c.send(frame(T.HEADERS, 0x5, 7, bytes("83 86"))); // no :path
    c.send(frame(T.HEADERS, 0x5, 9, Buffer.concat([REQUEST, bytes("84")]))); // :path twice
    c.send(frame(T.HEADERS, 0x5, 11, Buffer.concat([REQUEST, literal("x-a", "a\r\nb")])));
    c.send(frame(T.HEADERS, 0x5, 13, Buffer.concat([REQUEST, literal(":status", "200")])));
    c.send(frame(T.HEADERS, 0x5, 15, Buffer.concat([REQUEST, literal("constructor", "kept")])));
    await expect.poll(() => c.onStream(15).length).toBe(3);
    for (const id of [1, 3, 5, 7, 9, 11, 13]) expect(c.codes(id)).toEqual([[T.RST_STREAM, 1]]);
    c.socket.destroy();
  });

  it("answers a client that lowered its header table (node:http2 with headerTableSize 0)", async () => {
    onCall = (call) => call.respond(OK, Buffer.from("read"), DONE);
    const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { headerTableSize: 0 } });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/" });
        let text = "";
        stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
        stream.end();
      });
      expect(body).toBe("read");
    } finally {
      session.close();
    }
  });

  it("stops reading a client that does not read its replies, instead of holding them without end", async () => {
    onCall = () => undefined;
    const c = await client();
    c.socket.pause(); // reads nothing: the PING acknowledgements pile up on the server's side
    const pings = Buffer.concat(Array.from({ length: 20000 }, () => frame(T.PING, 0, 0, Buffer.alloc(8))));
    for (let i = 0; i < 50; i++) c.socket.write(pings); // 17 MB
    const serverSide = sockets.at(-1)!;
    await expect.poll(() => serverSide.isPaused(), { timeout: 5000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(serverSide.writableLength).toBeLessThan(4 << 20);
    c.socket.destroy();
  });
});
