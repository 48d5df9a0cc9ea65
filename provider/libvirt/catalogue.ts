// What the libvirt backend knows of its objects beyond what libvirt holds: each object's kind,
// spec, name, idempotency token and owner tags, and the host it lives on. Clusters, pools and images
// exist only here (libvirt has no such objects); domains and volumes exist in libvirt, and what
// libvirt says of them (present, size, power state, disks) wins over this record when read.
// Crash safety: a record is written with an intent ("create", "delete") before libvirt is touched
// and settled after, so an object libvirt holds always has a record: a run killed in between is
// finished or undone by the next (no orphan domain or volume).
// Secret fields of a spec (an instance's userData) are sealed in the file as the emulator seals its
// data, with a key beside it (`secrets.key`: from VIRTFORM_PASSPHRASE, else random; see
// emulator/secret-key.ts), and opened when read.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Value } from "../../core/model.ts";
import { SecretsError } from "../../core/secrets-error.ts";
import { mapSecretPaths } from "../../emulator/secret-fields.ts";
import { isSealed, SecretKey, type Sealed } from "../../emulator/secret-key.ts";
import { secretPathsOf, type KindName } from "../../sdk/kinds/index.ts";

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
  private key: SecretKey | undefined;

  /** Without a file: an in-memory copy (a rehearsal's). */
  constructor(file: string | undefined, records?: Iterable<CatalogueRecord>) {
    this.file = file;
    this.records = new Map();
    if (records) for (const r of records) this.records.set(r.id, structuredClone(r));
    else if (file) {
      let parsed: { records: CatalogueRecord[] } | undefined;
      try {
        parsed = JSON.parse(readFileSync(file, "utf8")) as { records: CatalogueRecord[] };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`the libvirt catalogue ${file} cannot be read: ${(err as Error).message}`);
      }
      for (const r of parsed?.records ?? []) this.records.set(r.id, mapSecretPaths(r, secretPaths(r), (v) => (isSealed(v) ? this.secretKey().open(v as Sealed) : v)));
    }
  }

  /** The key of the catalogue's directory, made when the first secret is written. */
  private secretKey(): SecretKey {
    const dir = dirname(this.file!);
    try {
      this.key ??= SecretKey.load(dir, process.env.VIRTFORM_PASSPHRASE) ?? SecretKey.create(dir, process.env.VIRTFORM_PASSPHRASE);
    } catch (err) {
      if (err instanceof SecretsError) throw new SecretsError(`the libvirt catalogue ${this.file}: ${err.message.replace("the emulator's data", "its data").replace("the emulator's key", "its key")}`);
      throw err;
    }
    return this.key;
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
    const records = [...this.records.values()].map((r) => mapSecretPaths(r, secretPaths(r), (v) => this.secretKey().seal(v)));
    writeFileSync(tmp, JSON.stringify({ version: 1, records }, null, 1));
    renameSync(tmp, this.file);
  }
}

/** Where a record holds its kind's secret fields (`spec.userData`). */
function secretPaths(record: CatalogueRecord): string[] {
  return secretPathsOf(record.kind, undefined).map((p) => `spec.${p}`);
}
