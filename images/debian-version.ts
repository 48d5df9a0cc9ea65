// Debian version comparison, following dpkg's verrevcmp (lib/dpkg/version.c) exactly.

export type RelationOp = "<<" | "<=" | "=" | ">=" | ">>";

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseVersion(text: string): DebianVersion {
  const v = text.trim();
  const colon = v.indexOf(":");
  let epoch = 0;
  let rest = v;
  if (colon >= 0) {
    epoch = Number.parseInt(v.slice(0, colon), 10);
    if (!Number.isFinite(epoch)) epoch = 0;
    rest = v.slice(colon + 1);
  }
  // The revision is everything after the last hyphen; the upstream part may contain hyphens.
  const dash = rest.lastIndexOf("-");
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: "" };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

// dpkg's order(): '~' sorts before everything (even the end of the string), then the end /
// digits, then letters, then everything else.
function order(c: number): number {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126 /* ~ */) return -1;
  if (c) return c + 256;
  return 0;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = i < a.length ? order(a.charCodeAt(i)) : 0;
      const bc = j < b.length ? order(b.charCodeAt(j)) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 48) i++;
    while (j < b.length && b.charCodeAt(j) === 48) j++;
    while (i < a.length && isDigit(a.charCodeAt(i)) && j < b.length && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

const parsedCache = new Map<string, DebianVersion>();

function cachedParse(v: string): DebianVersion {
  let p = parsedCache.get(v);
  if (p === undefined) {
    p = parseVersion(v);
    // Bounded so a long-running process does not grow without limit.
    if (parsedCache.size > 200_000) parsedCache.clear();
    parsedCache.set(v, p);
  }
  return p;
}

/** Negative if a < b, 0 if equal, positive if a > b (dpkg --compare-versions semantics). */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const va = cachedParse(a);
  const vb = cachedParse(b);
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const u = verrevcmp(va.upstream, vb.upstream);
  if (u !== 0) return Math.sign(u);
  return Math.sign(verrevcmp(va.revision, vb.revision));
}

/** Normalises the obsolete `<` and `>` (which mean `<=` and `>=`) and validates the operator. */
export function normalizeOp(op: string): RelationOp {
  switch (op) {
    case "<<":
    case "<=":
    case "=":
    case ">=":
    case ">>":
      return op;
    case "<":
      return "<=";
    case ">":
      return ">=";
    default:
      throw new Error(`unknown version relation operator '${op}'`);
  }
}

/** True when `version` satisfies `version op target`, e.g. satisfies("1.2", ">=", "1.0"). */
export function satisfies(version: string, op: RelationOp | "<" | ">", target: string): boolean {
  const c = compareVersions(version, target);
  switch (normalizeOp(op)) {
    case "<<":
      return c < 0;
    case "<=":
      return c <= 0;
    case "=":
      return c === 0;
    case ">=":
      return c >= 0;
    case ">>":
      return c > 0;
  }
}

/** Parses a constraint such as ">= 17.0.14", "<<2", or a bare version (meaning "="). */
export function parseConstraint(text: string): { op: RelationOp; version: string } {
  const t = text.trim();
  let k = 0;
  while (k < t.length && (t[k] === "<" || t[k] === ">" || t[k] === "=")) k++;
  const opText = t.slice(0, k);
  const version = t.slice(k).trim();
  if (version === "") throw new Error(`constraint '${text}' has no version`);
  return { op: opText === "" ? "=" : normalizeOp(opText), version };
}
