// The embedded emulator: every object in one data document, changed only through the services, and
// written to the data dir atomically after every change. `rehearsal()` gives an in-memory copy on
// which a plan can be tried without touching the real thing.
import type { CapacityRow } from "../engine/provider.ts";
import { capacityReport } from "./capacity.ts";
import { mkdirSync, openSync, fsyncSync, writeSync, closeSync, renameSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Value } from "../engine/model.ts";
import { kinds, type KindName } from "../sdk/kinds/index.ts";
import { attachmentService } from "./storage/attachments.ts";
import { clusterService } from "./compute/clusters.ts";
import { EmulatorContext } from "./context.ts";
import { DataPlane } from "./data-plane.ts";
import { emptyData, upgradeData, type Collection, type EmulatorData } from "./data.ts";
import { EmulatorError, notFound } from "./errors.ts";
import { imageService } from "./image-registry.ts";
import { instanceAction, instanceService, type InstanceAction } from "./compute/instances.ts";
import { poolService } from "./storage/pools.ts";
import { snapshotService } from "./storage/snapshots.ts";
import type { ObjectOf, ObjectService, SpecOf } from "./service.ts";
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

export interface EmulatedObject {
  id: string;
  name: string;
  spec: Record<string, Value>;
  outputs: Record<string, Value>;
}

export class Emulator {
  private readonly ctx: EmulatorContext;
  /** The bytes (pools, volumes, local disks): only for an emulator on disk, never for a rehearsal. */
  readonly dataPlane: DataPlane | undefined;

  private constructor(
    private readonly data: EmulatorData,
    private readonly file: string | undefined,
  ) {
    upgradeData(data);
    data.snapshots ??= {}; // written before snapshots existed
    this.ctx = new EmulatorContext(data);
    this.dataPlane = file === undefined ? undefined : new DataPlane(dirname(file), data);
  }

  /** Resolves once the data plane has carried out every committed change (at once without one). */
  async settled(): Promise<void> {
    await this.dataPlane?.settled();
  }

  /** Finishes the data plane's work and closes its pools; the control plane needs no closing. */
  async close(): Promise<void> {
    await this.dataPlane?.close();
  }

  /** Opens (or creates) the emulator whose data lives in `dataDir`. */
  static open(dataDir: string): Emulator {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, "emulator.json");
    let data: EmulatorData;
    try {
      data = JSON.parse(readFileSync(file, "utf8")) as EmulatorData;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(`emulator data ${file} cannot be read: ${(err as Error).message}`);
      }
      data = emptyData();
    }
    return new Emulator(data, file);
  }

  static inMemory(data: EmulatorData = emptyData()): Emulator {
    return new Emulator(data, undefined);
  }

  /** An in-memory copy to try changes on. */
  rehearsal(): Emulator {
    return Emulator.inMemory(structuredClone(this.data));
  }

  create(kind: KindName, spec: unknown, options: { name: string; token?: string }): EmulatedObject {
    const service = SERVICES[kind];
    if (options.token) {
      const earlier = this.data.tokens[options.token];
      if (earlier && earlier.collection !== service.collection) {
        throw new EmulatorError("conflict", `idempotency token ${options.token} was used to create ${earlier.collection} ${earlier.id}, not a ${kind}`);
      }
      if (earlier && this.data[earlier.collection][earlier.id]) return this.view(service, this.data[earlier.collection][earlier.id]!);
    }
    const parsed = this.validate(kind, spec);
    const object = { id: this.ctx.newId(service.idPrefix), name: options.name, spec: parsed, createdAt: this.ctx.now() } as ObjectOf<Collection>;
    this.transaction(() => {
      service.create(this.ctx, object);
      (this.data[service.collection] as Record<string, ObjectOf<Collection>>)[object.id] = object;
      if (options.token) this.data.tokens[options.token] = { collection: service.collection, id: object.id };
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
    return object ? this.view(service, object) : null;
  }

  update(kind: KindName, id: string, spec: unknown, options: { restart: boolean }): EmulatedObject {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    if (!object) throw notFound(kind, id);
    const parsed = this.validate(kind, spec);
    this.transaction(() => {
      service.update(this.ctx, object, parsed as SpecOf<Collection>, options);
      this.ctx.event(`${kind.toLowerCase()}.updated`, id);
    });
    return this.view(service, object);
  }

  delete(kind: KindName, id: string): void {
    const service = SERVICES[kind];
    const object = this.data[service.collection][id];
    if (!object) throw notFound(kind, id);
    this.transaction(() => {
      service.delete(this.ctx, object);
      delete this.data[service.collection][id];
      this.ctx.event(`${kind.toLowerCase()}.deleted`, id, object.name);
    });
  }

  /** start, stop or reboot an instance; a terminated one answers with a conflict. */
  instanceAction(id: string, action: InstanceAction): EmulatedObject {
    this.transaction(() => {
      // A terminated one is found too: its action fails with the lifecycle's conflict, not a 404.
      const object = this.data.instances[id] ?? this.data.terminated[id];
      if (!object) throw notFound("Instance", id);
      instanceAction(this.ctx, object, action);
    });
    return this.view(SERVICES.Instance, this.data.instances[id]!);
  }

  list(kind: KindName): EmulatedObject[] {
    const service = SERVICES[kind];
    return Object.values(this.data[service.collection]).map((o) => this.view(service, o));
  }

  /** Everything the emulator holds, for `virtform emulator inspect`. */
  /** Used and usable capacity per cluster and pool. */
  capacity(): CapacityRow[] {
    return capacityReport(this.data);
  }

  inspect(): Omit<EmulatorData, "tokens" | "events" | "nextId" | "version"> & { events: number } {
    const { clusters, images, pools, volumes, snapshots, instances, attachments, terminated, events } = structuredClone(this.data);
    return { clusters, images, pools, volumes, snapshots, instances, attachments, terminated, events: events.length };
  }

  events(since = 0) {
    return this.data.events.filter((e) => e.seq > since);
  }

  private validate(kind: KindName, spec: unknown) {
    const result = kinds[kind].inputs.safeParse(spec);
    if (!result.success) {
      const detail = result.error.issues.map((i) => `${i.path.join(".") || "(spec)"}: ${i.message}`).join("; ");
      throw new EmulatorError("invalid", `invalid ${kind} spec: ${detail}`);
    }
    return result.data;
  }

  /** Runs a change on a copy of the data, keeping it only if it succeeds, then persists. */
  private transaction(change: () => void): void {
    const before = structuredClone(this.data);
    try {
      change();
    } catch (err) {
      for (const key of Object.keys(this.data) as (keyof EmulatorData)[]) {
        (this.data as unknown as Record<string, unknown>)[key] = before[key];
      }
      throw err;
    }
    this.persist();
    this.dataPlane?.schedule();
  }

  private persist(): void {
    if (!this.file) return;
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, "w");
    try {
      writeSync(fd, JSON.stringify(this.data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
  }

  private view(service: ObjectService<Collection>, object: ObjectOf<Collection>): EmulatedObject {
    return {
      id: object.id,
      name: object.name,
      spec: structuredClone(object.spec) as unknown as Record<string, Value>,
      outputs: service.outputs(this.ctx, object),
    };
  }
}
