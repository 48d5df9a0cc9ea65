// The emulator in this process: the default backend of the CLI.
import type { CapacityReportRow } from "../emulator/capacity.ts";
import type { Value } from "../core/model.ts";
import { Emulator } from "../emulator/emulator.ts";
import type { KindName } from "../sdk/kinds/index.ts";
import type { Backend, BackendObject } from "./backend.ts";

export class EmbeddedBackend implements Backend {
  readonly emulator: Emulator;

  constructor(emulator: Emulator) {
    this.emulator = emulator;
  }

  static open(dataDir: string): EmbeddedBackend {
    return new EmbeddedBackend(Emulator.open(dataDir));
  }

  async create(kind: KindName, spec: Record<string, Value>, options: { name: string; token: string; tags?: Record<string, string>; secretPaths?: readonly string[] }): Promise<BackendObject> {
    return this.emulator.create(kind, spec, options);
  }

  async get(kind: KindName, id: string): Promise<BackendObject | null> {
    const object = this.emulator.get(kind, id);
    if (!object?.unhealthy) return object;
    await this.emulator.settled();
    return this.emulator.get(kind, id);
  }

  async update(kind: KindName, id: string, spec: Record<string, Value>, options: { restart: boolean; secretPaths?: readonly string[] }): Promise<BackendObject> {
    return this.emulator.update(kind, id, spec, options);
  }

  async list(kind: KindName, filter?: { tags?: Record<string, string> }): Promise<BackendObject[]> {
    const objects = this.emulator.list(kind, filter);
    if (!objects.some((o) => o.unhealthy)) return objects;
    // A run killed before its data plane finished leaves work undone: finish it, then judge.
    await this.emulator.settled();
    return this.emulator.list(kind, filter);
  }

  async setTags(kind: KindName, id: string, tags: Record<string, string>): Promise<BackendObject> {
    return this.emulator.setTags(kind, id, tags);
  }

  async capacity(): Promise<CapacityReportRow[]> {
    return this.emulator.capacity();
  }

  async writtenBytes(kind: KindName, id: string): Promise<number | undefined> {
    if (kind === "Instance") return this.emulator.dataPlane?.localDiskWrittenBytes(id); // its local disk
    return kind === "Volume" || kind === "Snapshot" ? this.emulator.dataPlane?.writtenBytes(id) : undefined;
  }

  async getByToken(kind: KindName, token: string): Promise<BackendObject | null> {
    return this.emulator.findByToken(kind, token);
  }

  async delete(kind: KindName, id: string): Promise<void> {
    this.emulator.delete(kind, id);
  }

  async rehearsal(): Promise<Backend & { dispose(): Promise<void> }> {
    const copy = new EmbeddedBackend(this.emulator.rehearsal());
    return Object.assign(copy, { dispose: async () => undefined });
  }
}
