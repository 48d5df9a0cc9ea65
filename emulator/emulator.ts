// The embedded emulator: every object in one data document, changed only through the services.
// On disk: `emulator.json`, a snapshot of the document, and `emulator.journal`, one line per
// committed transaction since (the objects it set or removed, its events, the id counter), written
// before the call returns (durable/journal-file.ts). The journal is folded into a new snapshot when
// it outgrows the snapshot, when the emulator settles or closes, and when the process exits, so
// each change costs what it changed, not the whole document. A failed transaction is undone from an
// undo log of what it touched. `rehearsal()` gives an in-memory copy on which a plan can be tried
// without touching the real thing. Secret values (see secret-fields.ts) are clear in memory and
// sealed on disk, in the snapshot and in every journal line, with the data dir's key (secret-key.ts).
import { withArticle } from "../core/article.ts";
import { capacityReport, type CapacityReportRow } from "./capacity.ts";
import { copyJson } from "../core/copy-json.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { JournalDamagedError, JournalFile } from "../durable/journal-file.ts";
import { dirname, join } from "node:path";
import type { Value } from "../core/model.ts";
import { kinds, type KindName } from "../sdk/kinds/index.ts";
import { attachmentService } from "./storage/attachments.ts";
import { clusterService } from "./compute/clusters.ts";
import { EmulatorContext } from "./context.ts";
import { DataPlane } from "./data-plane.ts";
import { emptyData, KEYED_RECORDS, upgradeData, type Collection, type EmulatorData, type EmulatorEvent, type PoolObject } from "./data.ts";
import { COLLECTIONS } from "./http/collections.ts";
import { EmulatorError, notFound } from "./errors.ts";
import { REDACTED, mapSecretPaths, openSealed, secretPathsIn } from "./secret-fields.ts";
import { SecretKey } from "./secret-key.ts";
import { imageService } from "./image-registry.ts";
import { instanceAction, instanceService, type InstanceAction } from "./compute/instances.ts";
import { poolService } from "./storage/pools.ts";
import { snapshotService } from "./storage/snapshots.ts";
import type { ObjectOf, ObjectService, SpecOf } from "./service.ts";
import { matchesTags, tagsSchema, type Tags } from "./tags.ts";
import { volumeService } from "./storage/volumes.ts";

/** Which collection and service carry each resource kind. */
const SERVICES: { [K in KindName]: ObjectService<Collection> } = {
  Cluster: clusterService as ObjectService<Collection>,
  Image: imageService as ObjectService<Collection>,
  StoragePool: poolService as ObjectService<Collection>,
  Volume: volumeService as ObjectService<Collection>,
  Snapshot: snapshotService as ObjectService<Collection>,
  Instance: instanceService as ObjectService<Collection>,
  Attachment: attachmentService as ObjectService<Collection>,
};

const RECORDS = KEYED_RECORDS;
type RecordName = (typeof RECORDS)[number];

/** The kind of the objects each record holds (tokens hold none). */
const RECORD_KINDS: Partial<Record<RecordName, KindName>> = { ...COLLECTIONS, terminated: "Instance" };

/** Paths of an object of `record` that hold secret values. */
function secretPathsOfRecord(record: RecordName, object: unknown): string[] {
  const kind = RECORD_KINDS[record];
  return kind ? secretPathsIn(kind, SERVICES[kind], object as ObjectOf<Collection>) : [];
}

export interface OpenOptions {
  /** Seals the secrets of a data dir that has none yet, and opens those sealed with it; VIRTFORM_PASSPHRASE by default. */
  passphrase?: string | undefined;
}

/** One committed transaction in the journal: records set (an object) or removed (null), new events, the id counter. */
interface JournalLine {
  set: Partial<Record<RecordName, Record<string, unknown>>>;
  events: EmulatorEvent[];
  nextId: number;
}

/** Emulators with journal lines not yet in their snapshot, folded in when the process exits. */
const unsnapshotted = new Set<Emulator>();
let exitHookInstalled = false;
function foldAtExit(emulator: Emulator): void {
  unsnapshotted.add(emulator);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const e of unsnapshotted) {
      try {
        e.snapshot();
      } catch {
        // the journal holds everything; the next open replays it
      }
    }
  });
}

/** What the transaction under way notes of each change to a record (transactions do not nest). */
let noting: ((record: RecordName, key: string, before: unknown) => void) | undefined;
/** Per record object, the proxy through which a transaction changes it: made once, not per transaction. */
const watchers = new WeakMap<object, Record<string, unknown>>();

function watcherOf(record: RecordName, target: Record<string, unknown>): Record<string, unknown> {
  let watcher = watchers.get(target);
  if (watcher) return watcher;
  watcher = new Proxy(target, {
    set(t, key, value) {
      if (typeof key === "string") noting?.(record, key, t[key]);
      t[key as string] = value;
      return true;
    },
    deleteProperty(t, key) {
      if (typeof key === "string") noting?.(record, key, t[key]);
      delete t[key as string];
      return true;
    },
    defineProperty(t, key, descriptor) {
      if (typeof key === "string") noting?.(record, key, t[key]);
      return Reflect.defineProperty(t, key, descriptor);
    },
  });
  watchers.set(target, watcher);
  return watcher;
}

export interface EmulatedObject {
  id: string;
  name: string;
  spec: Record<string, Value>;
  outputs: Record<string, Value>;
  tags: Tags;
  /** On reads: why the object's bytes cannot serve it (a pool whose LUNs are missing or short). */
  unhealthy?: string;
}

export class Emulator {
  private readonly data: EmulatorData;
  private readonly file: string | undefined;
  private readonly ctx: EmulatorContext;
  /** The bytes (pools, volumes, local disks): only for an emulator on disk, never for a rehearsal. */
  readonly dataPlane: DataPlane | undefined;

  /** The data dir's secret key: loaded with the data, made when the first secret is written. */
  private secretKey: SecretKey | undefined;
  /** Why the key file could not be opened (no or a wrong passphrase) when nothing sealed needed it yet. */
  private readonly keyError: Error | undefined;
  private readonly passphrase: string | undefined;

  private readonly journal: JournalFile<JournalLine> | undefined;
  /** Bytes this emulator appended to the journal since its snapshot; -1 when another writer's journal is found. */
  private journalBytes = 0;
  private snapshotBytes = 0;

  private constructor(
    data: EmulatorData,
    file: string | undefined,
    journal?: { bytes: number; snapshotBytes: number },
    secrets?: { key: SecretKey | undefined; keyError: Error | undefined; passphrase: string | undefined },
  ) {
    this.data = data;
    this.file = file;
    this.journal = file === undefined ? undefined : new JournalFile(journalOf(file));
    this.secretKey = secrets?.key;
    this.keyError = secrets?.keyError;
    this.passphrase = secrets?.passphrase;
    if (journal) {
      this.journalBytes = journal.bytes;
      this.snapshotBytes = journal.snapshotBytes;
      if (journal.bytes > 0) foldAtExit(this);
    }
    upgradeData(data);
    data.snapshots ??= {}; // written before snapshots existed
    this.ctx = new EmulatorContext(data);
    this.dataPlane = file === undefined ? undefined : new DataPlane(dirname(file), data);
    this.ctx.storage = this.dataPlane;
  }

  /**
   * Resolves once the data plane has carried out every committed change. The journal already holds
   * them durably; folding it into the snapshot here would make every request cost the whole document.
   */
  async settled(): Promise<void> {
    await this.dataPlane?.settled();
  }

  /** Finishes the data plane's work and closes its pools; the snapshot gets the journal. */
  async close(): Promise<void> {
    this.snapshot();
    this.journal?.close();
    unsnapshotted.delete(this);
    await this.dataPlane?.close();
  }

  /** Opens (or creates) the emulator whose data lives in `dataDir`. */
  static open(dataDir: string, options: OpenOptions = { passphrase: process.env.VIRTFORM_PASSPHRASE }): Emulator {
    mkdirSync(dataDir, { recursive: true });
    const { data, file, snapshotBytes, bytes, torn, key, keyError } = readData(dataDir, options.passphrase);
    const emulator = new Emulator(data, file, { bytes, snapshotBytes }, { key, keyError, passphrase: options.passphrase });
    // Lines appended after a torn one would join it: fold first, so the journal starts clean.
    if (torn) emulator.snapshot();
    // Data written before secrets were sealed (no key yet) holds them in clear: rewritten sealed now.
    else if (!key && !keyError && emulator.holdsSecrets()) {
      emulator.journalBytes = Math.max(emulator.journalBytes, 1);
      emulator.snapshot();
    }
    return emulator;
  }

  /** What a data dir holds (snapshot plus journal), read without changing anything: for tests and tools. */
  static readDataDir(dataDir: string, options: OpenOptions = { passphrase: process.env.VIRTFORM_PASSPHRASE }): EmulatorData {
    return readData(dataDir, options.passphrase).data;
  }

  static inMemory(data: EmulatorData = emptyData()): Emulator {
    return new Emulator(data, undefined);
  }

  /** An in-memory copy to try changes on. */
  rehearsal(): Emulator {
    const copy = Emulator.inMemory(copyJson(this.data));
    // A plan learns what the host's filesystem cannot hold, as the apply would (the check only reads).
    copy.ctx.storage = this.ctx.storage;
    return copy;
  }

  /** `secretPaths`: spec paths the client marks secret (a program's secret() values), sealed at rest like the kind's own. */
  create(kind: KindName, spec: unknown, options: { name: string; token?: string; tags?: Tags; secretPaths?: readonly string[] }): EmulatedObject {
    const service = SERVICES[kind];
    if (options.token) {
      const earlier = this.data.tokens[options.token];
      if (earlier && earlier.collection !== service.collection) {
        throw new EmulatorError("conflict", `idempotency token ${options.token} was used to create ${earlier.collection} ${earlier.id}, not ${withArticle(kind)}`);
      }
      if (earlier && this.data[earlier.collection][earlier.id]) return this.view(service, this.data[earlier.collection][earlier.id]!);
    }
    const parsed = this.validate(kind, spec);
    const tags = options.tags && Object.keys(options.tags).length > 0 ? this.validTags(options.tags) : undefined;
    const object = { id: this.ctx.newId(service.idPrefix), name: options.name, spec: parsed, createdAt: this.ctx.now(), ...(tags && { tags }) } as ObjectOf<Collection>;
    if (options.secretPaths?.length) object.secretPaths = [...options.secretPaths];
    this.readyToSeal(kind, object);
    this.transaction((put) => {
      service.create(this.ctx, object);
      put(service.collection, object.id, object);
      if (options.token) put("tokens", options.token, { collection: service.collection, id: object.id });
      this.ctx.event(`${kind.toLowerCase()}.created`, object.id, options.name);
    });
    return this.view(service, object);
  }

  /** What a create with this idempotency token made, if it made anything (crash recovery). */
  findByToken(kind: KindName, token: string): EmulatedObject | null {
    const earlier = this.data.tokens[token];
    const service = SERVICES[kind];
    if (!earlier || earlier.collection !== service.collection) return null;
    const object = this.data[earlier.collection][earlier.id];
    return object ? this.view(service, object) : null;
  }

  get(kind: KindName, id: string): EmulatedObject | null {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    return object ? this.observe(service, object) : null;
  }

  /** The spec is replaced whole, and with it the paths marked secret (`secretPaths`, none when absent). */
  update(kind: KindName, id: string, spec: unknown, options: { restart: boolean; secretPaths?: readonly string[] }): EmulatedObject {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    if (!object) throw notFound(kind, id);
    const parsed = this.validate(kind, spec);
    this.readyToSeal(kind, { ...object, spec: parsed, secretPaths: options.secretPaths ? [...options.secretPaths] : [] } as ObjectOf<Collection>);
    this.transaction(
      () => {
        service.update(this.ctx, object, parsed as SpecOf<Collection>, options);
        if (options.secretPaths?.length) object.secretPaths = [...options.secretPaths];
        else delete object.secretPaths;
        this.ctx.event(`${kind.toLowerCase()}.updated`, id);
      },
      { record: service.collection, id },
    );
    return this.view(service, object);
  }

  delete(kind: KindName, id: string): void {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    if (!object) throw notFound(kind, id);
    this.transaction(
      () => {
        service.delete(this.ctx, object);
        delete this.data[service.collection][id];
        this.ctx.event(`${kind.toLowerCase()}.deleted`, id, object.name);
      },
      { record: service.collection, id },
    );
  }

  /** Replaces an object's tags (a client taking it over, or letting it go). */
  setTags(kind: KindName, id: string, tags: Tags): EmulatedObject {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    if (!object) throw notFound(kind, id);
    const valid = this.validTags(tags);
    this.transaction(
      () => {
        if (Object.keys(valid).length > 0) object.tags = valid;
        else delete object.tags;
        this.ctx.event(`${kind.toLowerCase()}.tagged`, id);
      },
      { record: service.collection, id },
    );
    return this.view(service, object);
  }

  /** start, stop or reboot an instance; a terminated one answers with a conflict. */
  instanceAction(id: string, action: InstanceAction): EmulatedObject {
    this.transaction(
      () => {
        // A terminated one is found too: its action fails with the lifecycle's conflict, not a 404.
        const object = this.data.instances[id] ?? this.data.terminated[id];
        if (!object) throw notFound("Instance", id);
        instanceAction(this.ctx, object, action);
      },
      { record: this.data.instances[id] ? "instances" : "terminated", id },
    );
    return this.view(SERVICES.Instance, this.data.instances[id]!);
  }

  /** Every object of a kind, or those carrying every tag of `filter.tags`. */
  list(kind: KindName, filter: { tags?: Tags } = {}): EmulatedObject[] {
    const service = SERVICES[kind];
    const objects: ObjectOf<Collection>[] = Object.values(this.data[service.collection]);
    const wanted = filter.tags ? objects.filter((o) => matchesTags(o.tags, filter.tags!)) : objects;
    return wanted.map((o) => this.observe(service, o));
  }

  /** Used and usable capacity per cluster and pool. */
  capacity(): CapacityReportRow[] {
    return capacityReport(this.data);
  }

  /** Everything the emulator holds, secret values shown as "(sensitive)" unless `showSecrets`. */
  inspect(options: { showSecrets?: boolean } = {}): Omit<EmulatorData, "tokens" | "events" | "nextId" | "version"> & { events: number } {
    const shown = <R extends RecordName>(record: R) =>
      Object.fromEntries(
        Object.entries(this.data[record]).map(([id, object]) => {
          const paths = options.showSecrets ? [] : secretPathsOfRecord(record, object);
          return [id, paths.length > 0 ? mapSecretPaths(object, paths, () => REDACTED) : structuredClone(object)];
        }),
      ) as EmulatorData[R];
    return {
      clusters: shown("clusters"),
      images: shown("images"),
      pools: shown("pools"),
      volumes: shown("volumes"),
      snapshots: shown("snapshots"),
      instances: shown("instances"),
      attachments: shown("attachments"),
      terminated: shown("terminated"),
      events: this.data.events.length,
    };
  }

  events(since = 0) {
    return this.data.events.filter((e) => e.seq > since);
  }

  private validTags(tags: unknown): Tags {
    const result = tagsSchema.safeParse(tags);
    if (!result.success) throw new EmulatorError("invalid", `invalid tags: ${result.error.issues.map((i) => `${i.path.join(".") || "(tags)"}: ${i.message}`).join("; ")}`);
    return result.data;
  }

  private validate(kind: KindName, spec: unknown) {
    const result = kinds[kind].inputs.safeParse(spec);
    if (!result.success) {
      const detail = result.error.issues.map((i) => `${i.path.join(".") || "(spec)"}: ${i.message}`).join("; ");
      throw new EmulatorError("invalid", `invalid ${kind} spec: ${detail}`);
    }
    return result.data;
  }

  /**
   * Runs a change, keeping it only if it succeeds, then persists what it changed. Services change in
   * place only the object they are given (`primary`, saved first); every other object is added,
   * replaced or removed through its record (`data.attachments[id] = ...`, `delete ...`), which the
   * transaction watches: that is what the undo log restores on a throw and the journal line holds.
   * `put` sets an entry of a record the same way without going through its watcher (a proxy's trap
   * per write was a tenth of a create's time).
   */
  private transaction(change: (put: (record: RecordName, key: string, value: unknown) => void) => void, primary?: { record: RecordName; id: string }): void {
    const data = this.data as unknown as Record<RecordName, Record<string, unknown>>;
    const nextId = this.data.nextId;
    const eventCount = this.data.events.length;
    /** Per record: the keys touched and what each held before (undefined: absent). */
    const undo = new Map<RecordName, Map<string, unknown>>();
    const remember = (record: RecordName, key: string, value: unknown) => {
      let keys = undo.get(record);
      if (!keys) undo.set(record, (keys = new Map()));
      if (!keys.has(key)) keys.set(key, value);
    };
    if (primary) remember(primary.record, primary.id, structuredClone(data[primary.record][primary.id]));
    const raw = {} as Record<RecordName, Record<string, unknown>>;
    // Indexed loops: a for-of allocates an iterator result per record, and this runs per change.
    for (let i = 0; i < RECORDS.length; i++) {
      const record = RECORDS[i]!;
      const target = data[record];
      raw[record] = target;
      data[record] = watcherOf(record, target);
    }
    const put = (record: RecordName, key: string, value: unknown) => {
      const target = raw[record];
      remember(record, key, target[key]);
      target[key] = value;
    };
    const outer = noting;
    noting = remember;
    try {
      change(put);
    } catch (err) {
      this.ctx.derived.clear(); // they may have followed changes that are now undone
      for (let i = 0; i < RECORDS.length; i++) data[RECORDS[i]!] = raw[RECORDS[i]!];
      for (const [record, keys] of undo) {
        for (const [key, before] of keys) {
          if (before === undefined) delete raw[record][key];
          else raw[record][key] = before;
        }
      }
      this.data.nextId = nextId;
      this.data.events.length = eventCount;
      throw err;
    } finally {
      noting = outer;
      for (let i = 0; i < RECORDS.length; i++) data[RECORDS[i]!] = raw[RECORDS[i]!];
    }
    if (this.file) {
      const set: JournalLine["set"] = {};
      for (const [record, keys] of undo) {
        const changed: Record<string, unknown> = {};
        for (const key of keys.keys()) changed[key] = this.sealed(record, raw[record][key]) ?? null;
        set[record] = changed;
      }
      this.append({ set, events: this.data.events.slice(eventCount), nextId: this.data.nextId });
    }
    this.dataPlane?.schedule();
  }

  /** Appends a journal line: written before the call returns (a SIGKILL loses nothing), fdatasynced in groups. */
  private append(line: JournalLine): void {
    if (!this.journal) return;
    this.journalBytes += this.journal.append(line);
    foldAtExit(this);
    if (this.journalBytes > Math.max(this.snapshotBytes, 1 << 20) || this.snapshotBytes === 0) this.snapshot();
  }

  /** Folds the journal into a new snapshot (atomic replace) and empties the journal. */
  snapshot(): void {
    if (!this.file || !this.journal || this.journalBytes === 0) return;
    // Another emulator on this data dir appended since: its lines are not in this document.
    const onDisk = this.journal.sizeOnDisk();
    if (onDisk !== undefined && onDisk !== this.journalBytes) {
      unsnapshotted.delete(this);
      return;
    }
    const text = JSON.stringify(this.sealedDocument());
    // Replaying a journal line on a snapshot that holds it changes nothing, so a crash in between is harmless.
    this.journal.compact(this.file, text);
    this.journalBytes = 0;
    this.snapshotBytes = text.length;
    unsnapshotted.delete(this);
  }

  /** The object as it goes to disk: its secret values sealed with the data dir's key (made on first use). */
  private sealed(record: RecordName, object: unknown): unknown {
    if (object === undefined || object === null) return object;
    const paths = secretPathsOfRecord(record, object);
    if (paths.length === 0) return object;
    const key = this.sealingKey();
    return mapSecretPaths(object, paths, (value) => key.seal(value));
  }

  private sealingKey(): SecretKey {
    if (this.keyError) throw this.keyError;
    this.secretKey ??= SecretKey.create(dirname(this.file!), this.passphrase);
    return this.secretKey;
  }

  private holdsSecrets(): boolean {
    return RECORDS.some((record) => Object.values(this.data[record]).some((object) => secretPathsOfRecord(record, object).length > 0));
  }

  /** Before a change that brings a secret: the key must be at hand, or the change is refused before it is made. */
  private readyToSeal(kind: KindName, object: ObjectOf<Collection>): void {
    if (this.file && secretPathsIn(kind, SERVICES[kind], object).length > 0) this.sealingKey();
  }

  /** The document as the snapshot holds it: records whose objects hold secrets are copied with them sealed. */
  private sealedDocument(): EmulatorData {
    const document = { ...this.data } as unknown as Record<RecordName, Record<string, unknown>>;
    for (const record of RECORDS) {
      const objects = this.data[record] as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const [id, object] of Object.entries(objects)) {
        const sealed = this.sealed(record, object);
        if (sealed === object) continue;
        copy ??= { ...objects };
        copy[id] = sealed;
      }
      if (copy) document[record] = copy;
    }
    return document as unknown as EmulatorData;
  }

  /** What a read sees: the view, and for a pool whether its data plane can serve it. */
  private observe(service: ObjectService<Collection>, object: ObjectOf<Collection>): EmulatedObject {
    const view = this.view(service, object);
    const problem = service.collection === "pools" ? this.dataPlane?.poolProblem(object as PoolObject) : undefined;
    return problem === undefined ? view : { ...view, unhealthy: problem };
  }

  private view(service: ObjectService<Collection>, object: ObjectOf<Collection>): EmulatedObject {
    return {
      id: object.id,
      name: object.name,
      spec: copyJson(object.spec) as unknown as Record<string, Value>,
      outputs: service.outputs(this.ctx, object),
      tags: { ...object.tags },
    };
  }
}

/** How a sealed value starts in the files: its presence is what makes a load open values. */
const SEALED_MARK = '{"$sealed":';

function journalOf(file: string): string {
  return file.replace(/\.json$/, "") + ".journal";
}

/** Applies the journal's lines to a snapshot's document; says how large the journal is and whether its end is torn. */
function replayJournal(data: EmulatorData, path: string): { bytes: number; torn: boolean; sealed: boolean } {
  const records = data as unknown as Record<RecordName, Record<string, unknown>>;
  let sealed = false;
  const apply = (line: JournalLine, text: string) => {
    sealed ||= text.includes(SEALED_MARK);
    for (const [record, objects] of Object.entries(line.set) as [RecordName, Record<string, unknown>][]) {
      records[record] ??= {};
      for (const [id, object] of Object.entries(objects)) {
        if (object === null) delete records[record][id];
        else records[record][id] = object;
      }
    }
    // Absolute values and events by sequence number: a line replayed twice changes nothing.
    const last = data.events.at(-1)?.seq ?? 0;
    for (const event of line.events) if (event.seq > last) data.events.push(event);
    data.nextId = Math.max(data.nextId, line.nextId);
  };
  try {
    return { ...new JournalFile<JournalLine>(path).replay(apply), sealed };
  } catch (err) {
    if (err instanceof JournalDamagedError) throw new Error(`emulator journal ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === undefined) throw err;
    throw new Error(`emulator journal ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** The snapshot with the journal replayed over it, its sealed secrets opened. */
function readData(
  dataDir: string,
  passphrase: string | undefined,
): { data: EmulatorData; file: string; snapshotBytes: number; bytes: number; torn: boolean; key: SecretKey | undefined; keyError: Error | undefined } {
  const file = join(dataDir, "emulator.json");
  let data: EmulatorData;
  let snapshotBytes = 0;
  let sealed = false;
  try {
    const text = readFileSync(file, "utf8");
    snapshotBytes = text.length;
    sealed = text.includes(SEALED_MARK);
    data = JSON.parse(text) as EmulatorData;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`emulator data ${file} cannot be read: ${(err as Error).message}`);
    }
    data = emptyData();
  }
  const journal = replayJournal(data, journalOf(file));
  const { bytes, torn } = journal;
  // Only a data dir that ever held a secret has a key; without one, anything sealed is an error. A
  // key that cannot be opened (no or a wrong passphrase) matters only once a secret is read or written.
  let key: SecretKey | undefined;
  let keyError: Error | undefined;
  try {
    key = SecretKey.load(dataDir, passphrase);
  } catch (err) {
    if (sealed || journal.sealed) throw err;
    keyError = err as Error;
  }
  if (sealed || journal.sealed) openSealed(data, key);
  return { data, file, snapshotBytes, bytes, torn, key, keyError };
}
