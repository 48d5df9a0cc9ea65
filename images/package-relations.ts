// Parser for Debian relationship fields (Depends, Pre-Depends, Conflicts, Breaks, Provides).
// Grammar (Debian policy 7.1): groups separated by ',', alternatives by '|', each
// `name[:archqual] [(op version)] [[arch ...]] [<profile ...>]`.

import { normalizeOp, type RelationOp } from "./debian-version.ts";

export interface Relation {
  name: string;
  /** Architecture qualifier after ':' (`any`, `native`, or an architecture name). */
  archQualifier?: string;
  op?: RelationOp;
  version?: string;
  /** `[amd64 !i386]` restriction list; entries keep their `!` prefix. */
  archRestrictions?: string[];
}

/** One comma-separated group: satisfied by any one of its alternatives. */
export type RelationGroup = Relation[];

export interface ProvidedName {
  name: string;
  archQualifier?: string;
  /** Versioned provides (`foo (= 1.2)`); undefined for an unversioned provide. */
  version?: string;
}

function parseOne(text: string, field: string): Relation {
  let s = text.trim();
  let archRestrictions: string[] | undefined;
  // Build profiles (`<!nocheck>`) only matter for build dependencies; drop them.
  const lt = s.indexOf("<");
  const paren0 = s.indexOf("(");
  if (lt >= 0 && (paren0 < 0 || lt > s.indexOf(")", paren0))) s = s.slice(0, lt).trim();
  const bracket = s.indexOf("[");
  if (bracket >= 0) {
    const close = s.indexOf("]", bracket);
    if (close < 0) throw new Error(`${field}: unterminated '[' in '${text.trim()}'`);
    archRestrictions = s
      .slice(bracket + 1, close)
      .split(/\s+/)
      .filter((a) => a !== "");
    s = (s.slice(0, bracket) + s.slice(close + 1)).trim();
  }
  let op: RelationOp | undefined;
  let version: string | undefined;
  const paren = s.indexOf("(");
  if (paren >= 0) {
    const close = s.indexOf(")", paren);
    if (close < 0) throw new Error(`${field}: unterminated '(' in '${text.trim()}'`);
    const inner = s.slice(paren + 1, close).trim();
    let k = 0;
    while (k < inner.length && (inner[k] === "<" || inner[k] === ">" || inner[k] === "=")) k++;
    if (k === 0) throw new Error(`${field}: missing relation operator in '${text.trim()}'`);
    op = normalizeOp(inner.slice(0, k));
    version = inner.slice(k).trim();
    if (version === "") throw new Error(`${field}: missing version in '${text.trim()}'`);
    s = s.slice(0, paren).trim();
  }
  if (s === "" || /\s/.test(s)) throw new Error(`${field}: bad package name in '${text.trim()}'`);
  const rel: Relation = { name: s };
  const colon = s.indexOf(":");
  if (colon >= 0) {
    rel.name = s.slice(0, colon);
    rel.archQualifier = s.slice(colon + 1);
  }
  if (op !== undefined && version !== undefined) {
    rel.op = op;
    rel.version = version;
  }
  if (archRestrictions !== undefined) rel.archRestrictions = archRestrictions;
  return rel;
}

/** Parses a Depends-style field into groups of alternatives. Empty or missing text gives []. */
export function parseRelations(text: string | undefined, field = "relation"): RelationGroup[] {
  if (text === undefined) return [];
  const groups: RelationGroup[] = [];
  for (const groupText of text.split(",")) {
    if (groupText.trim() === "") continue;
    groups.push(groupText.split("|").map((alt) => parseOne(alt, field)));
  }
  return groups;
}

/** Parses a Provides field. Only `=` is allowed for versioned provides (policy 7.5). */
export function parseProvides(text: string | undefined): ProvidedName[] {
  const out: ProvidedName[] = [];
  for (const group of parseRelations(text, "Provides")) {
    for (const rel of group) {
      if (rel.op !== undefined && rel.op !== "=") {
        throw new Error(`Provides: only '=' is allowed, got '${rel.op}' for ${rel.name}`);
      }
      const p: ProvidedName = { name: rel.name };
      if (rel.archQualifier !== undefined) p.archQualifier = rel.archQualifier;
      if (rel.version !== undefined) p.version = rel.version;
      out.push(p);
    }
  }
  return out;
}

/**
 * Does an `[arch ...]` restriction list admit `arch`? Positive lists admit only the named
 * architectures, negated lists (`!arch`) admit everything else.
 */
export function archRestrictionAllows(restrictions: string[] | undefined, arch: string): boolean {
  if (restrictions === undefined || restrictions.length === 0) return true;
  const negated = restrictions[0]!.startsWith("!");
  const hit = restrictions.some((r) => (negated ? r.slice(1) : r) === arch || r === (negated ? "!any" : "any"));
  return negated ? !hit : hit;
}

export function formatRelation(rel: Relation): string {
  let s = rel.archQualifier !== undefined ? `${rel.name}:${rel.archQualifier}` : rel.name;
  if (rel.op !== undefined) s += ` (${rel.op} ${rel.version})`;
  if (rel.archRestrictions !== undefined) s += ` [${rel.archRestrictions.join(" ")}]`;
  return s;
}

export function formatGroup(group: RelationGroup): string {
  return group.map(formatRelation).join(" | ");
}
