// State: what virtform created, with serial (bumped on every change) and lineage (which history
// this file belongs to), persisted atomically after every apply step.
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, copyFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { ResourceState, Value } from "./model.ts";

export const STATE_VERSION = 1;

/** An object replaced create-before-delete whose old copy still exists until its delete step. */
export interface DeposedObject extends ResourceState {
  address: string;
}

export interface State {
  version: typeof STATE_VERSION;
  serial: number;
  lineage: string;
  stack: string;
  resources: Record<string, ResourceState>;
  deposed: DeposedObject[];
  outputs: Record<string, Value>;
}

export function emptyState(stack: string): State {
  return { version: STATE_VERSION, serial: 0, lineage: randomUUID(), stack, resources: {}, deposed: [], outputs: {} };
}

export interface StateStore {
  load(): Promise<State>;
  /** Persists the state as the next serial; calls are serialised by the store. */
  save(state: State): Promise<void>;
}

export class StateFileError extends Error {}

/**
 * One JSON file per stack. Writes go to a temp file that is fsynced and renamed over the old one, so
 * a crash leaves either the old or the new state, never half of one; the first write of a process
 * keeps the previous file as `.backup`.
 */
export class FileStateStore implements StateStore {
  private queue: Promise<void> = Promise.resolve();
  private backedUp = false;

  constructor(readonly path: string, private readonly stack: string) {}

  async load(): Promise<State> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState(this.stack);
      throw err;
    }
    let parsed: State;
    try {
      parsed = JSON.parse(text) as State;
    } catch (err) {
      throw new StateFileError(`state file ${this.path} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed.version !== STATE_VERSION) {
      throw new StateFileError(
        `state file ${this.path} has version ${String(parsed.version)}; this virtform reads version ${STATE_VERSION}`,
      );
    }
    parsed.deposed ??= [];
    return parsed;
  }

  save(state: State): Promise<void> {
    const snapshot = JSON.stringify({ ...state, serial: state.serial + 1 }, null, 2) + "\n";
    state.serial += 1;
    const write = this.queue.then(() => this.write(snapshot));
    // Keep the queue alive after a failed write; the caller still sees the failure.
    this.queue = write.catch(() => undefined);
    return write;
  }

  private async write(text: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    if (!this.backedUp) {
      this.backedUp = true;
      await copyFile(this.path, `${this.path}.backup`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
    const temp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path).catch(async (err) => {
      await rm(temp, { force: true });
      throw err;
    });
  }
}
