// The resource monitor's calls between a Pulumi program and virtform over a pipe instead of gRPC:
// the same protobuf messages, each call one frame, without HTTP/2 around it (most of the cost of a
// thousand registrations on both sides). A frame is its length (4 bytes), then for a request the
// call's number (4) and its gRPC path (1 byte of length, then the path), for a reply the call's number
// and a status byte (0: the reply message; 1: an error as JSON {code, details}); then the bytes.

export interface Request {
  id: number;
  path: string;
  body: Buffer;
}

export interface Reply {
  id: number;
  error?: { code: number; details: string };
  body: Buffer;
}

export function requestFrame(id: number, path: string, body: Uint8Array): Buffer {
  const name = Buffer.from(path);
  const frame = Buffer.allocUnsafe(9 + name.length + body.length);
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.writeUInt32BE(id, 4);
  frame.writeUInt8(name.length, 8);
  name.copy(frame, 9);
  frame.set(body, 9 + name.length);
  return frame;
}

export function replyFrame(id: number, body: Uint8Array, error?: { code: number; details: string }): Buffer {
  const payload = error ? Buffer.from(JSON.stringify(error)) : body;
  const frame = Buffer.allocUnsafe(9 + payload.length);
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.writeUInt32BE(id, 4);
  frame.writeUInt8(error ? 1 : 0, 8);
  frame.set(payload, 9);
  return frame;
}

/** Splits a byte stream into frames; `onFrame` gets each frame without its length. */
export function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const length = pending.readUInt32BE(at);
      if (pending.length - at - 4 < length) break;
      onFrame(pending.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
  };
}

export function readRequest(frame: Buffer): Request {
  const nameLength = frame.readUInt8(4);
  return { id: frame.readUInt32BE(0), path: frame.toString("utf8", 5, 5 + nameLength), body: frame.subarray(5 + nameLength) };
}

export function readReply(frame: Buffer): Reply {
  const id = frame.readUInt32BE(0);
  const body = frame.subarray(5);
  return frame.readUInt8(4) === 1 ? { id, error: JSON.parse(body.toString("utf8")) as { code: number; details: string }, body } : { id, body };
}
