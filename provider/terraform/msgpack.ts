// The MessagePack subset Terraform's DynamicValue uses (docs/plugin-protocol/object-wire-format.md):
// nil, booleans, integers, float64, strings, binaries, arrays, string-keyed maps, and extension values,
// which are all unknowns ("known after apply"). Small enough to own: no package to load at start-up.
import { setOwn } from "../../core/own.ts";

/** A decoded extension value: Terraform's unknown (type 0, or 12 with refinements we ignore). */
export class Extension {
  readonly extension: number;

  constructor(extension: number) {
    this.extension = extension;
  }
}

export type Packed = null | boolean | number | string | Uint8Array | Extension | Packed[] | { [key: string]: Packed };

export function isExtension(value: unknown): value is Extension {
  return value instanceof Extension;
}

/** The wire's unknown: fixext1 with type 0 and a zero payload (`d4 00 00`). */
export const UNKNOWN_EXTENSION = new Extension(0);

export function encode(value: Packed): Uint8Array {
  const out = new Writer();
  write(value, out);
  return out.finish();
}

const textDecoder = new TextDecoder();

/** A growing buffer: the values a provider sends are small and many, so each is written in place. */
class Writer {
  buffer = Buffer.allocUnsafe(256);
  at = 0;

  room(n: number): void {
    if (this.at + n <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + n));
    this.buffer.copy(bigger, 0, 0, this.at);
    this.buffer = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buffer[this.at++] = b;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.at);
  }
}

function write(value: Packed, out: Writer): void {
  if (value === null) out.byte(0xc0);
  else if (value === true) out.byte(0xc3);
  else if (value === false) out.byte(0xc2);
  else if (typeof value === "number") writeNumber(value, out);
  else if (typeof value === "string") writeString(value, out);
  else if (value instanceof Uint8Array) writeBytes(value, out, BINARY);
  else if (Array.isArray(value)) {
    writeHeader(value.length, out, 0x90, 0xdc, 0xdd);
    for (const item of value) write(item, out);
  } else if (isExtension(value)) {
    out.room(3);
    out.buffer[out.at++] = 0xd4;
    out.buffer[out.at++] = value.extension & 0xff;
    out.buffer[out.at++] = 0;
  } else {
    const keys = Object.keys(value);
    writeHeader(keys.length, out, 0x80, 0xde, 0xdf);
    for (const key of keys) {
      writeString(key, out);
      write(value[key]!, out);
    }
  }
}

function writeNumber(n: number, out: Writer): void {
  out.room(9);
  const b = out.buffer;
  if (Number.isSafeInteger(n)) {
    if (n >= 0 && n < 128) return void (b[out.at++] = n);
    if (n < 0 && n >= -32) return void (b[out.at++] = n & 0xff);
    if (n >= -0x8000_0000 && n <= 0xffff_ffff) {
      b[out.at++] = n < 0 ? 0xd2 : 0xce;
      out.at = n < 0 ? b.writeInt32BE(n, out.at) : b.writeUInt32BE(n, out.at);
      return;
    }
    b[out.at++] = 0xd3;
    out.at = b.writeBigInt64BE(BigInt(n), out.at);
    return;
  }
  b[out.at++] = 0xcb;
  out.at = b.writeDoubleBE(n, out.at);
}

/** The fix-size prefix (or -1 when there is none), then the 8-, 16- and 32-bit length forms. */
const STRING = [0xa0, 0xd9, 0xda, 0xdb] as const;
const BINARY = [-1, 0xc4, 0xc5, 0xc6] as const;

function writeString(text: string, out: Writer): void {
  const n = Buffer.byteLength(text, "utf8");
  writeLength(n, out, STRING);
  out.room(n);
  out.at += out.buffer.write(text, out.at, n, "utf8");
}

function writeBytes(bytes: Uint8Array, out: Writer, codes: readonly number[]): void {
  writeLength(bytes.length, out, codes);
  out.room(bytes.length);
  out.buffer.set(bytes, out.at);
  out.at += bytes.length;
}

function writeLength(n: number, out: Writer, codes: readonly number[]): void {
  out.room(5);
  const b = out.buffer;
  if (codes[0]! >= 0 && n < 32) b[out.at++] = codes[0]! | n;
  else if (n < 0x100) (b[out.at++] = codes[1]!), (b[out.at++] = n);
  else if (n < 0x10000) (b[out.at++] = codes[2]!), (out.at = b.writeUInt16BE(n, out.at));
  else (b[out.at++] = codes[3]!), (out.at = b.writeUInt32BE(n, out.at));
}

function writeHeader(n: number, out: Writer, fix: number, short: number, long: number): void {
  out.room(5);
  const b = out.buffer;
  if (n < 16) b[out.at++] = fix | n;
  else if (n < 0x10000) (b[out.at++] = short), (out.at = b.writeUInt16BE(n, out.at));
  else (b[out.at++] = long), (out.at = b.writeUInt32BE(n, out.at));
}

export function decode(bytes: Uint8Array): Packed {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, at: 0 };
  const value = read(reader);
  if (reader.at !== bytes.length) throw new Error(`msgpack: ${bytes.length - reader.at} bytes left over`);
  return value;
}

interface Reader {
  view: DataView;
  bytes: Uint8Array;
  at: number;
}

function read(r: Reader): Packed {
  const code = r.view.getUint8(r.at++);
  if (code < 0x80) return code;
  if (code >= 0xe0) return code - 0x100;
  if (code >= 0x80 && code <= 0x8f) return readMap(r, code & 0x0f);
  if (code >= 0x90 && code <= 0x9f) return readArray(r, code & 0x0f);
  if (code >= 0xa0 && code <= 0xbf) return readString(r, code & 0x1f);
  switch (code) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBinary(r, u8(r));
    case 0xc5:
      return readBinary(r, u16(r));
    case 0xc6:
      return readBinary(r, u32(r));
    case 0xc7:
      return readExtension(r, u8(r));
    case 0xc8:
      return readExtension(r, u16(r));
    case 0xc9:
      return readExtension(r, u32(r));
    case 0xca:
      return ((r.at += 4), r.view.getFloat32(r.at - 4));
    case 0xcb:
      return ((r.at += 8), r.view.getFloat64(r.at - 8));
    case 0xcc:
      return u8(r);
    case 0xcd:
      return u16(r);
    case 0xce:
      return u32(r);
    case 0xcf:
      return ((r.at += 8), Number(r.view.getBigUint64(r.at - 8)));
    case 0xd0:
      return ((r.at += 1), r.view.getInt8(r.at - 1));
    case 0xd1:
      return ((r.at += 2), r.view.getInt16(r.at - 2));
    case 0xd2:
      return ((r.at += 4), r.view.getInt32(r.at - 4));
    case 0xd3:
      return ((r.at += 8), Number(r.view.getBigInt64(r.at - 8)));
    case 0xd4:
      return readExtension(r, 1);
    case 0xd5:
      return readExtension(r, 2);
    case 0xd6:
      return readExtension(r, 4);
    case 0xd7:
      return readExtension(r, 8);
    case 0xd8:
      return readExtension(r, 16);
    case 0xd9:
      return readString(r, u8(r));
    case 0xda:
      return readString(r, u16(r));
    case 0xdb:
      return readString(r, u32(r));
    case 0xdc:
      return readArray(r, u16(r));
    case 0xdd:
      return readArray(r, u32(r));
    case 0xde:
      return readMap(r, u16(r));
    case 0xdf:
      return readMap(r, u32(r));
    default:
      throw new Error(`msgpack: unsupported type byte 0x${code.toString(16)}`);
  }
}

const u8 = (r: Reader) => r.view.getUint8(r.at++);
const u16 = (r: Reader) => ((r.at += 2), r.view.getUint16(r.at - 2));
const u32 = (r: Reader) => ((r.at += 4), r.view.getUint32(r.at - 4));

/** Short ASCII (attribute names, ids, most values) is read byte by byte: cheaper than a TextDecoder call. */
function readString(r: Reader, n: number): string {
  const { bytes, at } = r;
  r.at += n;
  if (r.at > bytes.length) throw new Error("msgpack: a string runs past the end");
  if (n <= 32) {
    let text = "";
    for (let i = at; i < at + n; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return textDecoder.decode(bytes.subarray(at, at + n));
      text += String.fromCharCode(b);
    }
    return text;
  }
  return textDecoder.decode(bytes.subarray(at, at + n));
}

function readBinary(r: Reader, n: number): Uint8Array {
  const bytes = new Uint8Array(r.bytes.subarray(r.at, r.at + n));
  r.at += n;
  return bytes;
}

/** Any extension is an unknown; its payload (refinements) is skipped. */
function readExtension(r: Reader, n: number): Extension {
  const extension = r.view.getInt8(r.at);
  r.at += 1 + n;
  return new Extension(extension);
}

function readArray(r: Reader, n: number): Packed[] {
  const items: Packed[] = [];
  for (let i = 0; i < n; i++) items.push(read(r));
  return items;
}

function readMap(r: Reader, n: number): { [key: string]: Packed } {
  const map: { [key: string]: Packed } = {};
  for (let i = 0; i < n; i++) {
    const key = read(r);
    if (typeof key !== "string") throw new Error("msgpack: a map key that is not a string");
    setOwn(map, key, read(r));
  }
  return map;
}
