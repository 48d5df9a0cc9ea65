// What every service of the emulator works with: the data document, id minting and the event log.
import type { Collection, EmulatorData } from "./data.ts";
import { conflict, notFound } from "./errors.ts";
import { formatId } from "./ids.ts";

/** The host's storage as the control plane may ask it, before a change is recorded. */
export interface HostStorage {
  /** Throws (capacity) unless the host's filesystem can hold LUN files of these sizes; `what` names each in the error. */
  checkDevices(devices: readonly { what: string; sizeGiB: number }[]): void;
}

export class EmulatorContext {
  readonly data: EmulatorData;
  /** Absent for an emulator without a data dir (a copy of the document for tests). */
  storage: HostStorage | undefined;
  private readonly clock: () => number;
  /** Indexes derived from the data (per-pool allocation...): built on first use, dropped when a transaction fails. */
  readonly derived = new Map<string, unknown>();
  private lastMs = Number.NaN;
  private lastIso = "";

  constructor(data: EmulatorData, clock: () => number = Date.now) {
    this.data = data;
    this.clock = clock;
  }

  newId(prefix: string): string {
    const n = this.data.nextId++;
    return formatId(prefix, n);
  }

  /** ISO time, formatted once per millisecond: a create records several events in the same one. */
  now(): string {
    const ms = this.clock();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  event(type: string, id: string, detail?: string): void {
    const last = this.data.events.at(-1);
    const event: EmulatorData["events"][number] = { seq: (last?.seq ?? 0) + 1, time: this.now(), type, id };
    if (detail) event.detail = detail; // last, as before: a spread made a second object per event
    this.data.events.push(event);
  }

  find<C extends Collection>(collection: C, id: string, what: string): EmulatorData[C][string] {
    const object = this.data[collection][id] as EmulatorData[C][string] | undefined;
    // A terminated instance is a conflict, not a 404: the id was real, and using it is the mistake.
    const gone = collection === "instances" && !object ? this.data.terminated[id] : undefined;
    if (gone) throw conflict(`${what} ${gone.name} (${id}) is terminated (since ${gone.terminatedAt ?? "earlier"})`);
    if (!object) throw notFound(what, id);
    return object;
  }
}
