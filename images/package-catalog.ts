// A package catalog read from Debian `Packages` indexes (plain text, or apt's compressed lists).

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compareVersions } from "./debian-version.ts";
import { parseProvides, parseRelations, type ProvidedName, type RelationGroup } from "./package-relations.ts";
import { ImagesError } from "./images-error.ts";

export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  conflicts?: string;
  breaks?: string;
  essential: boolean;
  /** Debian `Important: yes` (protected packages). */
  important: boolean;
  priority?: string;
  multiArch?: string;
  /** Installed-Size, in KiB as in the index. */
  installedSize: number;
  /** Size of the .deb in bytes. */
  size: number;
  sha256?: string;
  filename?: string;
  /** The index file the record was read from. */
  origin: string;
  /** Order of first appearance across the loaded indexes; used as a stable tie-breaker. */
  seq: number;
}

export interface ParsedRelations {
  preDepends: RelationGroup[];
  depends: RelationGroup[];
  conflicts: RelationGroup[];
  breaks: RelationGroup[];
  provides: ProvidedName[];
}

/** One Debian "Provides:" entry: the record that provides a (virtual) name. */
export interface ProvidesEntry {
  record: PackageRecord;
  provided: ProvidedName;
}

export interface CatalogOptions {
  /** Architectures to keep; `all` is always kept. Defaults to ["amd64"]. */
  architectures?: string[];
}

export class PackageCatalog {
  /** Native architecture (the first of `architectures`). */
  readonly nativeArch: string;
  readonly architectures: ReadonlySet<string>;
  readonly origins: string[] = [];
  /** All versions of each package, highest first. */
  private readonly byName = new Map<string, PackageRecord[]>();
  private readonly byProvided = new Map<string, ProvidesEntry[]>();
  private readonly parsed = new Map<PackageRecord, ParsedRelations>();
  private seq = 0;
  private sorted = true;

  constructor(options: CatalogOptions = {}) {
    const archs = options.architectures ?? ["amd64"];
    this.nativeArch = archs[0] ?? "amd64";
    this.architectures = new Set([...archs, "all"]);
  }

  /** Adds the stanzas of one Packages index. Returns how many records were added. */
  addIndex(text: string, origin: string): number {
    this.origins.push(origin);
    let added = 0;
    for (const rec of parsePackagesText(text, origin)) {
      if (!this.architectures.has(rec.architecture)) continue;
      if (this.add(rec)) added++;
    }
    return added;
  }

  /** Adds one record; a second copy of the same name/version/architecture is ignored (apt merges them). */
  add(rec: PackageRecord): boolean {
    let list = this.byName.get(rec.name);
    if (list === undefined) {
      list = [];
      this.byName.set(rec.name, list);
    } else if (list.some((r) => r.version === rec.version && r.architecture === rec.architecture)) {
      return false;
    }
    rec.seq = this.seq++;
    list.push(rec);
    this.sorted = false;
    if (rec.provides !== undefined) {
      for (const provided of parseProvides(rec.provides)) {
        let ps = this.byProvided.get(provided.name);
        if (ps === undefined) {
          ps = [];
          this.byProvided.set(provided.name, ps);
        }
        ps.push({ record: rec, provided });
      }
    }
    return true;
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    for (const list of this.byName.values()) {
      if (list.length > 1) list.sort((a, b) => compareVersions(b.version, a.version) || a.seq - b.seq);
    }
    this.sorted = true;
  }

  /** Number of distinct package names. */
  get packageCount(): number {
    return this.byName.size;
  }

  /** Number of records (name/version/architecture). */
  get recordCount(): number {
    let n = 0;
    for (const list of this.byName.values()) n += list.length;
    return n;
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** All versions of a real package, highest first ([] for unknown or purely virtual names). */
  versions(name: string): readonly PackageRecord[] {
    this.ensureSorted();
    return this.byName.get(name) ?? [];
  }

  /** The candidate apt would pick with equal pin priorities: the highest version. */
  candidate(name: string): PackageRecord | undefined {
    return this.versions(name)[0];
  }

  /** Records whose Provides names `name` (all versions of the providers). */
  providers(name: string): readonly ProvidesEntry[] {
    return this.byProvided.get(name) ?? [];
  }

  isVirtual(name: string): boolean {
    return !this.byName.has(name) && this.byProvided.has(name);
  }

  relations(rec: PackageRecord): ParsedRelations {
    let p = this.parsed.get(rec);
    if (p === undefined) {
      const where = `${rec.name} ${rec.version}`;
      p = {
        preDepends: parseRelations(rec.preDepends, `${where} Pre-Depends`),
        depends: parseRelations(rec.depends, `${where} Depends`),
        conflicts: parseRelations(rec.conflicts, `${where} Conflicts`),
        breaks: parseRelations(rec.breaks, `${where} Breaks`),
        provides: parseProvides(rec.provides),
      };
      this.parsed.set(rec, p);
    }
    return p;
  }
}

function toInt(s: string): number {
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Parses the text of a Packages index into records (all architectures). Plain string scanning:
 * one indexOf per line, and only the fields we keep are sliced out.
 */
export function parsePackagesText(text: string, origin: string): PackageRecord[] {
  const out: PackageRecord[] = [];
  let rec: Partial<PackageRecord> & { essential: boolean; important: boolean } = { essential: false, important: false };
  let lastKey: string | null = null;
  const flush = (): void => {
    if (rec.name !== undefined && rec.version !== undefined) {
      out.push({
        installedSize: 0,
        size: 0,
        architecture: "all",
        ...rec,
        name: rec.name,
        version: rec.version,
        origin,
        seq: 0,
      } as PackageRecord);
    }
    rec = { essential: false, important: false };
    lastKey = null;
  };
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = len;
    let lineEnd = end;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--; // tolerate CRLF
    if (lineEnd === pos) {
      flush();
    } else {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 9) {
        // Continuation line: only relation fields we keep can matter.
        if (lastKey !== null) {
          const cont = text.slice(pos, lineEnd).trim();
          const r = rec as Record<string, unknown>;
          r[lastKey] = `${String(r[lastKey] ?? "")} ${cont}`.trim();
        }
      } else {
        const colon = text.indexOf(":", pos);
        lastKey = null;
        if (colon > 0 && colon < lineEnd) {
          const key = text.slice(pos, colon);
          const value = text.slice(colon + 1, lineEnd).trim();
          switch (key) {
            case "Package":
              rec.name = value;
              break;
            case "Version":
              rec.version = value;
              break;
            case "Architecture":
              rec.architecture = value;
              break;
            case "Depends":
              rec.depends = value;
              lastKey = "depends";
              break;
            case "Pre-Depends":
              rec.preDepends = value;
              lastKey = "preDepends";
              break;
            case "Provides":
              rec.provides = value;
              lastKey = "provides";
              break;
            case "Conflicts":
              rec.conflicts = value;
              lastKey = "conflicts";
              break;
            case "Breaks":
              rec.breaks = value;
              lastKey = "breaks";
              break;
            case "Essential":
              rec.essential = value === "yes";
              break;
            case "Important":
            case "Protected":
              rec.important = value === "yes";
              break;
            case "Priority":
              rec.priority = value;
              break;
            case "Multi-Arch":
              rec.multiArch = value;
              break;
            case "Installed-Size":
              rec.installedSize = toInt(value);
              break;
            case "Size":
              rec.size = toInt(value);
              break;
            case "SHA256":
              rec.sha256 = value;
              break;
            case "Filename":
              rec.filename = value;
              break;
          }
        }
      }
    }
    pos = end + 1;
  }
  flush();
  return out;
}

export const SYSTEM_APT_LISTS = "/var/lib/apt/lists";

/** Where apt keeps its lists; $VIRTFORM_APT_LISTS points elsewhere, as apt's Dir::State::Lists does. */
export function aptListsDir(): string {
  return process.env.VIRTFORM_APT_LISTS || SYSTEM_APT_LISTS;
}
const APT_HELPER = "/usr/lib/apt/apt-helper";

/**
 * The system's apt Packages lists (after `apt-get update`), sorted by file name (the order of
 * sources.list cannot be recovered from the names); [] when there are none.
 */
export function systemPackageLists(dir: string = aptListsDir()): string[] {
  if (!existsSync(dir)) return [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((f) => /_Packages(\.(lz4|gz|xz|zst|bz2))?$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Reads an index as text; compressed files go through `apt-helper cat-file`, which streams them. */
export function readIndexText(path: string): Promise<string> {
  if (path.endsWith("_Packages") || path.endsWith("/Packages") || !/\.(lz4|gz|xz|zst|bz2)$/.test(path)) {
    try {
      return Promise.resolve(readFileSync(path, "utf8"));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  return new Promise((resolve, reject) => {
    const child = spawn(APT_HELPER, ["cat-file", path], { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    const errs: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => errs.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`apt-helper cat-file ${path} exited ${code}: ${Buffer.concat(errs).toString("utf8").trim()}`));
      } else {
        resolve(Buffer.concat(chunks).toString("utf8"));
      }
    });
  });
}

/** Loads a catalog from index files (read concurrently, added in the given order). */
export async function loadCatalog(paths: string[], options: CatalogOptions = {}): Promise<PackageCatalog> {
  // An index that cannot be read (a directory, no permission, a damaged archive) is the user's to fix.
  const texts = await Promise.all(
    paths.map((p) =>
      readIndexText(p).catch((err: unknown) => {
        throw new ImagesError("catalog-unavailable", `cannot read the package index ${p}: ${(err as Error).message}`);
      }),
    ),
  );
  const catalog = new PackageCatalog(options);
  texts.forEach((text, i) => catalog.addIndex(text, paths[i]!));
  return catalog;
}

/** Loads the system's apt lists; throws when there are none (run `apt-get update`). */
export async function loadSystemCatalog(options: CatalogOptions = {}): Promise<PackageCatalog> {
  const lists = systemPackageLists();
  if (lists.length === 0) throw new ImagesError("catalog-unavailable", `no Packages lists in ${aptListsDir()}; run 'apt-get update' first`);
  return loadCatalog(lists, options);
}
