// What a request's header fields may be (RFC 9113 sections 8.1-8.3): a malformed request is refused
// with a stream error by the connection (connection.ts), before any method sees it.
import type { HeaderField, HeaderList } from "./hpack.ts";

/** A request's header list (RFC 9113 section 6.5.2's measure; the connection counts a block's frames 9 bytes each too). */
export const MAX_HEADER_LIST_SIZE = 1 << 16;

/** Names of connection-specific header fields, which a request must not carry (RFC 9113 section 8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"]);

const REQUEST_PSEUDO = new Set([":method", ":scheme", ":path", ":authority"]);
/** A field name: lowercase token characters (RFC 9110 section 5.6.2), a pseudo-header's leading colon aside. */
const NAME = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** A field value: no NUL, CR or LF, and no space or tab at either end (RFC 9113 section 8.2.1). */
const VALUE = /^(?![ \t])[^\0\r\n]*(?<![ \t])$/;

/**
 * Fields found well formed. The decoder hands out the same field object each time a client sends a
 * field by its index in the dynamic table (Go's client indexes the ones it repeats on every call), so
 * those are checked once, not on each of a plan's 15,000 calls.
 */
const checked = new WeakSet<HeaderField>();

/** Whether a field may be in a request: its name and value well formed, and not a connection-specific field. */
function validField(field: HeaderField): boolean {
  if (checked.has(field)) return true;
  const [name, value] = field;
  const valid = NAME.test(name) && VALUE.test(value) && !CONNECTION_SPECIFIC.has(name) && (name !== "te" || value === "trailers");
  if (valid) checked.add(field);
  return valid;
}

/**
 * A request's header fields by name, or undefined when they make a malformed request (section 8.2,
 * 8.3.1): a name not lowercase token characters, a value with NUL, CR or LF, a pseudo-header after a
 * regular field, repeated, unknown or missing (:method, :scheme, :path), a connection-specific
 * field, or a list over MAX_HEADER_LIST_SIZE. A repeated regular field (none that gRPC reads) keeps
 * its first value.
 */
export function requestHeaders(list: HeaderList): Record<string, string> | undefined {
  const headers = Object.create(null) as Record<string, string>;
  let size = 0;
  let regularSeen = false;
  for (const field of list) {
    const [name, value] = field;
    size += name.length + value.length + 32;
    if (!validField(field)) return undefined;
    if (name.startsWith(":")) {
      if (regularSeen || !REQUEST_PSEUDO.has(name) || name in headers) return undefined;
    } else regularSeen = true;
    if (!(name in headers)) headers[name] = value;
  }
  if (size > MAX_HEADER_LIST_SIZE || !headers[":method"] || !headers[":scheme"] || !headers[":path"]) return undefined;
  return headers;
}

/** A request's trailers: regular fields only (section 8.1). */
export function validTrailers(list: HeaderList): boolean {
  return list.every((field) => !field[0].startsWith(":") && validField(field));
}

