// HPACK (RFC 7541), as much as a gRPC server needs: decoding every form a client may send (the
// dynamic table included, since Go's client indexes the headers it repeats on every call) and
// encoding our few reply headers as literals that touch no table, so that the peer's table size is
// none of our concern.
import { huffmanDecode } from "./huffman.ts";

/** Appendix A: index 1-61. */
// prettier-ignore
const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""], ["etag", ""],
  ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""], ["if-modified-since", ""],
  ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""],
  ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
];

/** The table size both ends start with (SETTINGS_HEADER_TABLE_SIZE's default); we never announce another. */
export const HEADER_TABLE_SIZE = 4096;

/** A header block that does not decode: a connection error (COMPRESSION_ERROR) in HTTP/2. */
export class CompressionError extends Error {}

export type HeaderField = readonly [name: string, value: string];
export type HeaderList = HeaderField[];

/** One connection's decoder: the dynamic table lives as long as the connection. */
export class HeaderDecoder {
  /** Newest first, as the indices count (62 is the newest). */
  private entries: HeaderField[] = [];
  private size = 0;
  private maxSize = HEADER_TABLE_SIZE;

  decode(block: Uint8Array): HeaderList {
    const headers: HeaderList = [];
    const reader = { block, at: 0 };
    let fieldSeen = false;
    while (reader.at < block.length) {
      const first = block[reader.at]!;
      if (first & 0x80) {
        headers.push(this.entry(readInteger(reader, 7)));
      } else if (first & 0x40) {
        const field = this.literal(reader, 6);
        this.add(field);
        headers.push(field);
      } else if (first & 0x20) {
        // A table size update: only before the block's first field (section 4.2).
        if (fieldSeen) throw new CompressionError("a dynamic table size update after a header field");
        const size = readInteger(reader, 5);
        if (size > HEADER_TABLE_SIZE) throw new CompressionError(`a dynamic table size of ${size} over the ${HEADER_TABLE_SIZE} allowed`);
        this.maxSize = size;
        this.evict();
        continue;
      } else {
        // Without indexing (0000) or never indexed (0001): both leave the table as it is.
        headers.push(this.literal(reader, 4));
      }
      fieldSeen = true;
    }
    return headers;
  }

  /** A table entry, shared (fields are never changed): Go's client sends most fields as an index. */
  private entry(index: number): HeaderField {
    if (index === 0) throw new CompressionError("header index 0");
    const field = index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.entries[index - STATIC_TABLE.length - 1];
    if (!field) throw new CompressionError(`header index ${index} beyond the table`);
    return field;
  }

  private literal(reader: Reader, prefixBits: number): HeaderField {
    const index = readInteger(reader, prefixBits);
    const name = index === 0 ? readString(reader) : this.entry(index)[0];
    return [name, readString(reader)];
  }

  private add(field: HeaderField): void {
    this.entries.unshift(field);
    this.size += entrySize(field);
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize) this.size -= entrySize(this.entries.pop()!);
  }
}

/** Section 4.1: octets of name and value (one character per octet here), and 32. */
function entrySize([name, value]: HeaderField): number {
  return name.length + value.length + 32;
}

interface Reader {
  block: Uint8Array;
  at: number;
}

/** An integer with an N-bit prefix (section 5.1). */
function readInteger(reader: Reader, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  let value = reader.block[reader.at++]! & max;
  if (value < max) return value;
  for (let shift = 0; ; shift += 7) {
    if (reader.at >= reader.block.length) throw new CompressionError("a header block ends inside an integer");
    if (shift > 28) throw new CompressionError("an integer over 2^32 in a header block");
    const byte = reader.block[reader.at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return value;
  }
}

/** A string literal (section 5.2): raw or Huffman-coded octets, kept one character per octet. */
function readString(reader: Reader): string {
  if (reader.at >= reader.block.length) throw new CompressionError("a header block ends before a string");
  const huffman = (reader.block[reader.at]! & 0x80) !== 0;
  const length = readInteger(reader, 7);
  const end = reader.at + length;
  if (end > reader.block.length) throw new CompressionError("a header string runs past its block");
  const octets = reader.block.subarray(reader.at, end);
  reader.at = end;
  try {
    return Buffer.from(huffman ? huffmanDecode(octets) : octets).toString("latin1");
  } catch (err) {
    throw new CompressionError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * A header block of literals without indexing: a static table name where there is one, raw
 * strings (header values are octets: text is written as latin1, one octet per character).
 */
export function encodeHeaders(headers: HeaderList): Buffer {
  const parts: number[] = [];
  for (const [name, value] of headers) {
    const full = STATIC_INDEX.get(`${name}\0${value}`);
    if (full) {
      writeInteger(parts, 0x80, 7, full);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name);
    writeInteger(parts, 0x00, 4, nameIndex ?? 0);
    if (nameIndex === undefined) writeString(parts, name);
    writeString(parts, value);
  }
  return Buffer.from(parts);
}

const STATIC_INDEX = new Map(STATIC_TABLE.map(([name, value], i) => [`${name}\0${value}`, i + 1]));
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

function writeInteger(out: number[], flags: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function writeString(out: number[], text: string): void {
  const octets = Buffer.from(text, "latin1");
  writeInteger(out, 0x00, 7, octets.length);
  for (const octet of octets) out.push(octet);
}
