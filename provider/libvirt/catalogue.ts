// What the libvirt backend knows of its objects beyond what libvirt holds: each object's kind,
// spec, name, idempotency token and owner tags, and the host it lives on. Clusters, pools and images
// exist only here (libvirt has no such objects); domains and volumes exist in libvirt, and what
// libvirt says of them (present, size, power state, disks) wins over this record when read.
// Crash safety: a record is written with an intent ("create", "delete") before libvirt is touched
// and settled after, so an object libvirt holds always has a record: a run killed in between is
// finished or undone by the next (no orphan domain or volume).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Value } from "../../core/model.ts";
import type { KindName } from "../../sdk/kinds/index.ts";

export interface CatalogueRecord {
  kind: KindName;
  id: string;
  name: string;
  token: string;
  tags: Record<string, string>;
  spec: Record<string, Value>;
  /** The connection URI of the host holding a volume, snapshot or instance. */
  host?: string;
  /** A cluster's hosts (after the stack config's override). */
  hosts?: string[];
  /** A volume's (or snapshot's) file format: raw when it was made to be shared read-write. */
  format?: "qcow2" | "raw";
  /** An attachment's device name. */
  device?: string;
  /** The image digest of the built variant an instance boots (none: it boots the placeholder). */
  imageDigest?: string;
  /** A snapshot's pool (its volume's), kept for when the volume is gone. */
  pool?: string;
  /** A snapshot's size when taken. */
  sizeGiB?: number;
  intent?: "create" | "delete";
}

export class Catalogue {
  private readonly file: string | undefined;
  private readonly records: Map<string, CatalogueRecord>;

  /** Without a file: an in-memory copy (a rehearsal's). */
  constructor(file: string | undefined, records?: Iterable<CatalogueRecord>) {
    this.file = file;
    this.records = new Map();
    if (records) for (const r of records) this.records.set(r.id, structuredClone(r));
    else if (file) {
      try {
        const parsed = JSON.parse(readFileSync(file, "utf8")) as { records: CatalogueRecord[] };
        for (const r of parsed.records) this.records.set(r.id, r);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`the libvirt catalogue ${file} cannot be read: ${(err as Error).message}`);
      }
    }
  }

  get(id: string): CatalogueRecord | undefined {
    return this.records.get(id);
  }

  all(kind?: KindName): CatalogueRecord[] {
    return [...this.records.values()].filter((r) => kind === undefined || r.kind === kind);
  }

  /** Stores a record (a copy) and writes the catalogue through before returning. */
  put(record: CatalogueRecord): void {
    this.records.set(record.id, structuredClone(record));
    this.save();
  }

  remove(id: string): void {
    if (this.records.delete(id)) this.save();
  }

  copy(): Catalogue {
    return new Catalogue(undefined, this.records.values());
  }

  /** Temp file and rename: a kill leaves the old catalogue or the new one, never half of one. */
  private save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, records: [...this.records.values()] }, null, 1));
    renameSync(tmp, this.file);
  }
}
