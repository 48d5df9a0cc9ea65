// RegisterResourceResponse in protobuf's wire format, written straight from JavaScript values: the
// same bytes google-protobuf makes (Struct.fromJavaScript, then serializeBinary), without building a
// message object for every value, which was most of the monitor's time for a thousand resources.
// Fields: urn = 1, id = 2, object = 3 (google.protobuf.Struct: fields = 1, a map of entries
// {key = 1, value = 2} in key order; Value: null = 1, number = 2, string = 3, bool = 4, struct = 5, list = 6;
// ListValue: values = 1).

const LENGTH_DELIMITED = 2;
const VARINT = 0;
const FIXED64 = 1;

class Writer {
  private chunks: Buffer[] = [];
  private size = 0;

  bytes(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  varint(n: number): void {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.bytes(Buffer.from(out));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A length-delimited field whose body `write` produces. */
  nested(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.tag(field, LENGTH_DELIMITED);
    this.varint(inner.size);
    for (const chunk of inner.chunks) this.bytes(chunk);
  }

  string(field: number, s: string): void {
    const b = Buffer.from(s, "utf8");
    this.tag(field, LENGTH_DELIMITED);
    this.varint(b.length);
    this.bytes(b);
  }

  done(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

function writeStruct(w: Writer, object: Record<string, unknown>): void {
  // google-protobuf writes a map's entries in key order
  for (const key of Object.keys(object).sort()) {
    const value = object[key];
    w.nested(1, (entry) => {
      entry.string(1, key);
      entry.nested(2, (v) => writeValue(v, value));
    });
  }
}

function writeValue(w: Writer, value: unknown): void {
  if (value === null) {
    w.tag(1, VARINT);
    w.varint(0);
  } else if (typeof value === "number") {
    w.tag(2, FIXED64);
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(value);
    w.bytes(b);
  } else if (typeof value === "string") {
    w.string(3, value);
  } else if (typeof value === "boolean") {
    w.tag(4, VARINT);
    w.varint(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    w.nested(6, (list) => {
      for (const item of value) list.nested(1, (v) => writeValue(v, item));
    });
  } else if (typeof value === "object") {
    w.nested(5, (s) => writeStruct(s, value as Record<string, unknown>));
  } else {
    throw new Error(`a ${typeof value} cannot be sent to a Pulumi program`);
  }
}

/** The reply's bytes: urn, id (when there is one) and the properties as a Struct. */
export function registerReplyBytes(urn: string, id: string, properties: Record<string, unknown>): Buffer {
  const w = new Writer();
  if (urn) w.string(1, urn);
  if (id) w.string(2, id);
  w.nested(3, (s) => writeStruct(s, properties));
  return w.done();
}
