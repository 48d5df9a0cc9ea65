// The transmission phase (nbdkit's protocol.c): requests parsed in arrival order and started up to
// MAX_IN_FLIGHT at once, each answered with a simple reply carrying its handle. Device failures
// become NBD error numbers; a request the protocol forbids ends the connection.

import type { BlockDevice } from "./block-device.ts";
import { REPLY_HEADER_BYTES, UNCORKED_REPLY_BYTES, payloadPool, replyPool, smallBuffer } from "./nbd-buffers.ts";
import type { Connection } from "./nbd-connection.ts";
import { ProtocolViolation, errorNumber } from "./nbd-errors.ts";
import type { NbdExport } from "./nbd-options.ts";
import * as P from "./nbd-protocol.ts";
import { HIGH_WATER_BYTES, type Payload } from "./nbd-readers.ts";

const MAX_IN_FLIGHT = 32; // requests of one connection executing at once

interface Request {
  type: number;
  flags: number;
  handle: Buffer;
  offset: bigint;
  length: number;
  payload: Payload | undefined;
}

export async function transmission(c: Connection, selected: NbdExport, flags: number): Promise<void> {
  const readOnly = (flags & P.FLAG_READ_ONLY) !== 0;
  // Requests start in arrival order; each device call runs synchronously up to its first await,
  // so writes apply in order, while large reads may overlap (the spec lets replies come out of
  // order; each carries its request's handle).
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    if (c.socket.writableLength > HIGH_WATER_BYTES) await c.drained();
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const header = c.reader.tryTake(28) ?? (await c.reader.take(28));
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
      const taken = c.reader.takePayload(length);
      payload = taken instanceof Promise ? await taken : taken;
    }
    if (type === P.CMD_DISC) {
      await Promise.all(inFlight); // the spec: handle outstanding requests, then close
      c.socket.end();
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
    const running = execute(c, selected.device, readOnly, request);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  }
}

/** Runs one request and sends its reply; never rejects. */
async function execute(c: Connection, device: BlockDevice, readOnly: boolean, r: Request): Promise<void> {
  const { handle, length } = r;
  // Offsets beyond 2^53 cannot be inside any device we serve.
  const offset = r.offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(r.offset);
  const fua = (r.flags & P.CMD_FLAG_FUA) !== 0;
  const inRange = offset + length <= device.sizeBytes;
  try {
    switch (r.type) {
      case P.CMD_READ:
        if (!inRange) reply(c, handle, P.EINVAL);
        else if (device.readInto !== undefined) await readReply(c, device, handle, offset, length);
        else reply(c, handle, 0, await device.read(offset, length));
        break;
      case P.CMD_WRITE:
        if (readOnly) reply(c, handle, P.EPERM);
        else if (!inRange) reply(c, handle, P.ENOSPC); // the spec's choice for writes past the end
        else {
          const pieces = (r.payload as Payload).pieces;
          if (device.writev !== undefined) await device.writev(offset, pieces);
          else await device.write(offset, pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, length));
          if (fua) await device.flush();
          reply(c, handle, 0);
        }
        break;
      case P.CMD_FLUSH:
        await device.flush();
        reply(c, handle, 0);
        break;
      case P.CMD_TRIM:
        if (readOnly) reply(c, handle, P.EPERM);
        else if (!inRange) reply(c, handle, P.EINVAL);
        else {
          await device.trim(offset, length);
          if (fua) await device.flush();
          reply(c, handle, 0);
        }
        break;
      case P.CMD_WRITE_ZEROES:
        if (readOnly) reply(c, handle, P.EPERM);
        else if (!inRange) reply(c, handle, P.ENOSPC);
        else {
          if ((r.flags & P.CMD_FLAG_NO_HOLE) !== 0) await writeZeroBytes(device, offset, length);
          else await device.writeZeroes(offset, length);
          if (fua) await device.flush();
          reply(c, handle, 0);
        }
        break;
      default:
        reply(c, handle, P.EINVAL);
    }
  } catch (error) {
    reply(c, handle, errorNumber(error, c.log));
  } finally {
    if (r.payload?.pooled !== undefined) payloadPool.release(r.payload.pooled);
  }
}

function reply(c: Connection, handle: Buffer, error: number, data?: Buffer): void {
  const withData = data !== undefined && error === 0;
  const header = smallBuffer(16);
  header.writeUInt32BE(P.SIMPLE_REPLY_MAGIC, 0);
  header.writeUInt32BE(error, 4);
  handle.copy(header, 8);
  c.send(header);
  if (withData) c.send(data);
}

/**
 * A successful read reply is one buffer, header then payload, read by the device straight into
 * place; it comes from a free list and returns to it once the socket has sent it.
 */
async function readReply(c: Connection, device: BlockDevice, handle: Buffer, offset: number, length: number): Promise<void> {
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
  if (length >= UNCORKED_REPLY_BYTES && !c.corked) c.socket.write(pooled.subarray(0, size), release);
  else c.send(pooled.subarray(0, size), release);
}

/** Zeroes that stay allocated (NBD_CMD_FLAG_NO_HOLE): real writes, at most 1 MiB at a time. */
async function writeZeroBytes(device: BlockDevice, offset: number, length: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(length, 1024 * 1024));
  for (let done = 0; done < length; done += zeros.length) {
    const n = Math.min(zeros.length, length - done);
    await device.write(offset + done, zeros.subarray(0, n));
  }
}
