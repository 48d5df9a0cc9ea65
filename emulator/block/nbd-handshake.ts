// The fixed newstyle handshake (nbdkit's protocol-handshake-newstyle.c): the server's greeting,
// then options until the client picks an export (NBD_OPT_EXPORT_NAME, NBD_OPT_GO) or leaves.
// A server with a pre-shared key answers only STARTTLS and ABORT until TLS is up.

import * as P from "./nbd-protocol.ts";
import type { Connection } from "./nbd-connection.ts";
import { HandshakeRefused, ProtocolViolation } from "./nbd-errors.ts";
import type { NbdExport } from "./nbd-options.ts";

/** The export a client chose, and the transmission flags it was told. */
export interface Selected {
  export: NbdExport;
  flags: number;
}

export async function handshake(c: Connection): Promise<Selected | undefined> {
  const state = { noZeroes: false, secure: false };
  const hello = Buffer.alloc(18);
  hello.writeBigUInt64BE(P.NBDMAGIC, 0);
  hello.writeBigUInt64BE(P.IHAVEOPT, 8);
  hello.writeUInt16BE(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES, 16);
  c.send(hello);

  const clientFlags = (await c.reader.take(4)).readUInt32BE(0);
  if ((clientFlags & ~(P.FLAG_C_FIXED_NEWSTYLE | P.FLAG_C_NO_ZEROES)) !== 0) {
    throw new ProtocolViolation(`unknown client flags 0x${clientFlags.toString(16)}`);
  }
  state.noZeroes = (clientFlags & P.FLAG_C_NO_ZEROES) !== 0;

  for (;;) {
    const header = await c.reader.take(16);
    if (header.readBigUInt64BE(0) !== P.IHAVEOPT) {
      throw new ProtocolViolation("option without the IHAVEOPT magic");
    }
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > P.MAX_OPTION_BYTES) {
      throw new ProtocolViolation(`option ${option} carries ${length} bytes of data`);
    }
    if (option === P.OPT_STARTTLS) {
      await startTls(c, length, state);
      continue;
    }
    const data = await c.reader.take(length);
    if (!state.secure && c.options.security !== "insecure") {
      // The spec's "forced TLS": only STARTTLS and ABORT work before TLS.
      if (option === P.OPT_EXPORT_NAME) {
        throw new HandshakeRefused("NBD_OPT_EXPORT_NAME before TLS (this server requires TLS)");
      }
      if (option === P.OPT_ABORT) {
        optionReply(c, option, P.REP_ACK);
        c.socket.end();
        return undefined;
      }
      optionReply(c, option, P.REP_ERR_TLS_REQD, Buffer.from("this server requires TLS with a pre-shared key (NBD_OPT_STARTTLS)"));
      continue;
    }
    switch (option) {
      case P.OPT_EXPORT_NAME: {
        const name = data.toString("utf8");
        const found = await c.options.lookup(name);
        if (found === undefined) {
          // This option has no way to report an error: the spec says to drop the connection.
          c.log(`NBD_OPT_EXPORT_NAME: no export named ${JSON.stringify(name)}`);
          c.socket.end();
          return undefined;
        }
        const flags = transmissionFlags(found);
        const reply = Buffer.alloc(state.noZeroes ? 10 : 134);
        reply.writeBigUInt64BE(BigInt(found.device.sizeBytes), 0);
        reply.writeUInt16BE(flags, 8);
        c.send(reply);
        return { export: found, flags };
      }
      case P.OPT_ABORT:
        optionReply(c, option, P.REP_ACK);
        c.socket.end();
        return undefined;
      case P.OPT_LIST: {
        if (length !== 0) {
          optionReply(c, option, P.REP_ERR_INVALID, Buffer.from("NBD_OPT_LIST takes no data"));
          break;
        }
        for (const name of await c.options.list()) {
          const encoded = Buffer.from(name, "utf8");
          const body = Buffer.alloc(4 + encoded.length);
          body.writeUInt32BE(encoded.length, 0);
          encoded.copy(body, 4);
          optionReply(c, option, P.REP_SERVER, body);
        }
        optionReply(c, option, P.REP_ACK);
        break;
      }
      case P.OPT_INFO:
      case P.OPT_GO: {
        const selected = await infoOrGo(c, option, data);
        if (selected !== undefined && option === P.OPT_GO) return selected;
        break;
      }
      default:
        optionReply(c, option, P.REP_ERR_UNSUP, Buffer.from(`option ${option} is not supported`));
    }
  }
}

async function infoOrGo(c: Connection, option: number, data: Buffer): Promise<Selected | undefined> {
  const invalid = (why: string) => {
    optionReply(c, option, P.REP_ERR_INVALID, Buffer.from(why));
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

  const found = await c.options.lookup(name);
  if (found === undefined) {
    optionReply(c, option, P.REP_ERR_UNKNOWN, Buffer.from(`no export named ${JSON.stringify(name)}`));
    return undefined;
  }
  const flags = transmissionFlags(found);
  const exportInfo = Buffer.alloc(12);
  exportInfo.writeUInt16BE(P.INFO_EXPORT, 0);
  exportInfo.writeBigUInt64BE(BigInt(found.device.sizeBytes), 2);
  exportInfo.writeUInt16BE(flags, 10);
  optionReply(c, option, P.REP_INFO, exportInfo);
  if (wanted.has(P.INFO_NAME)) {
    optionReply(c, option, P.REP_INFO, Buffer.concat([u16(P.INFO_NAME), Buffer.from(name, "utf8")]));
  }
  if (wanted.has(P.INFO_DESCRIPTION) && found.description !== undefined) {
    optionReply(c, 
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
    optionReply(c, option, P.REP_INFO, sizes);
  }
  optionReply(c, option, P.REP_ACK);
  return { export: found, flags };
}

function optionReply(c: Connection, option: number, type: number, data: Buffer = Buffer.alloc(0)): void {
  const header = Buffer.alloc(20);
  header.writeBigUInt64BE(P.OPTION_REPLY_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(type, 12);
  header.writeUInt32BE(data.length, 16);
  c.send(header);
  if (data.length > 0) c.send(data);
}

/** Answers NBD_OPT_STARTTLS and continues the handshake inside TLS. */
async function startTls(c: Connection, length: number, state: { secure: boolean }): Promise<void> {
  const security = c.options.security;
  if (length !== 0) {
    await c.reader.take(length);
    optionReply(c, P.OPT_STARTTLS, P.REP_ERR_INVALID, Buffer.from("NBD_OPT_STARTTLS takes no data"));
    return;
  }
  if (security === "insecure") {
    optionReply(c, P.OPT_STARTTLS, P.REP_ERR_UNSUP, Buffer.from("TLS is not enabled on this server"));
    return;
  }
  if (state.secure) {
    optionReply(c, P.OPT_STARTTLS, P.REP_ERR_INVALID, Buffer.from("TLS is already in use"));
    return;
  }
  if (c.bufferedBytes !== 0) {
    // The client must wait for our reply before its TLS hello; bytes now would be plain text
    // smuggled into the encrypted session.
    throw new ProtocolViolation("data sent after NBD_OPT_STARTTLS before its reply");
  }
  optionReply(c, P.OPT_STARTTLS, P.REP_ACK);
  c.flush(); // the reply must leave in plain text, before TLS takes over the socket
  await c.startTls(security.psk);
  state.secure = true;
}

export function transmissionFlags(found: NbdExport): number {
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

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}
