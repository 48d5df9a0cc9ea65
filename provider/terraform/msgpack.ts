// The MessagePack subset Terraform's DynamicValue uses (docs/plugin-protocol/object-wire-format.md):
// nil, booleans, integers, float64, strings, binaries, arrays, string-keyed maps, and extension values,
// which are all unknowns ("known after apply"). Small enough to own: no package to load at start-up.

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
  const out: number[] = [];
  write(value, out);
  return Uint8Array.from(out);
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function write(value: Packed, out: number[]): void {
  if (value === null) out.push(0xc0);
  else if (value === true) out.push(0xc3);
  else if (value === false) out.push(0xc2);
  else if (typeof value === "number") writeNumber(value, out);
  else if (typeof value === "string") writeBytes(textEncoder.encode(value), out, [0xa0, 0xd9, 0xda, 0xdb]);
  else if (value instanceof Uint8Array) writeBytes(value, out, [-1, 0xc4, 0xc5, 0xc6]);
  else if (Array.isArray(value)) {
    writeHeader(value.length, out, 0x90, 0xdc, 0xdd);
    for (const item of value) write(item, out);
  } else if (isExtension(value)) out.push(0xd4, value.extension & 0xff, 0);
  else {
    const entries = Object.entries(value);
    writeHeader(entries.length, out, 0x80, 0xde, 0xdf);
    for (const [key, item] of entries) {
      write(key, out);
      write(item, out);
    }
  }
}

function writeNumber(n: number, out: number[]): void {
  if (Number.isSafeInteger(n)) {
    if (n >= 0 && n < 128) return void out.push(n);
    if (n < 0 && n >= -32) return void out.push(n & 0xff);
    const view = new DataView(new ArrayBuffer(9));
    if (n >= -0x8000_0000 && n <= 0xffff_ffff) {
      view.setUint8(0, n < 0 ? 0xd2 : 0xce);
      if (n < 0) view.setInt32(1, n);
      else view.setUint32(1, n);
      return void out.push(...new Uint8Array(view.buffer, 0, 5));
    }
    view.setUint8(0, 0xd3);
    view.setBigInt64(1, BigInt(n));
    return void out.push(...new Uint8Array(view.buffer));
  }
  const view = new DataView(new ArrayBuffer(9));
  view.setUint8(0, 0xcb);
  view.setFloat64(1, n);
  out.push(...new Uint8Array(view.buffer));
}

/** `codes`: the fix-size prefix (or -1 when there is none), then the 8-, 16- and 32-bit length forms. */
function writeBytes(bytes: Uint8Array, out: number[], codes: readonly number[]): void {
  const n = bytes.length;
  if (codes[0]! >= 0 && n < 32) out.push(codes[0]! | n);
  else if (n < 0x100) out.push(codes[1]!, n);
  else if (n < 0x10000) out.push(codes[2]!, n >> 8, n & 0xff);
  else out.push(codes[3]!, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  for (const b of bytes) out.push(b);
}

function writeHeader(n: number, out: number[], fix: number, short: number, long: number): void {
  if (n < 16) out.push(fix | n);
  else if (n < 0x10000) out.push(short, n >> 8, n & 0xff);
  else out.push(long, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
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
  const u8 = () => r.view.getUint8(r.at++);
  const u16 = () => ((r.at += 2), r.view.getUint16(r.at - 2));
  const u32 = () => ((r.at += 4), r.view.getUint32(r.at - 4));
  switch (code) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBinary(r, u8());
    case 0xc5:
      return readBinary(r, u16());
    case 0xc6:
      return readBinary(r, u32());
    case 0xc7:
      return readExtension(r, u8());
    case 0xc8:
      return readExtension(r, u16());
    case 0xc9:
      return readExtension(r, u32());
    case 0xca:
      return ((r.at += 4), r.view.getFloat32(r.at - 4));
    case 0xcb:
      return ((r.at += 8), r.view.getFloat64(r.at - 8));
    case 0xcc:
      return u8();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
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
      return readString(r, u8());
    case 0xda:
      return readString(r, u16());
    case 0xdb:
      return readString(r, u32());
    case 0xdc:
      return readArray(r, u16());
    case 0xdd:
      return readArray(r, u32());
    case 0xde:
      return readMap(r, u16());
    case 0xdf:
      return readMap(r, u32());
    default:
      throw new Error(`msgpack: unsupported type byte 0x${code.toString(16)}`);
  }
}

function readString(r: Reader, n: number): string {
  const text = textDecoder.decode(r.bytes.subarray(r.at, r.at + n));
  r.at += n;
  return text;
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
    map[key] = read(r);
  }
  return map;
}
