// State on disk: `<stack>.json` is the last snapshot, `<stack>.journal` the records appended since
// (one JSON line each). A record is written before the call it announces returns, so a SIGKILL
// loses nothing; the journal is fsynced in groups, and folded into a new snapshot (temp file,
// fsync, rename, previous snapshot kept as `.backup`, the last ten in `history/`) at the end of
// every run. Each step costs one appended line, not a rewrite of the whole state.
import { truncateSync, closeSync, copyFileSync, existsSync, fdatasync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { ResourceState, Value } from "./model.ts";
import { openAll, SecretsError, type StateCipher } from "./state-crypto.ts";
import { historyDir, parseSnapshot, restoreAdvice, saveHistory } from "./state-history.ts";
import { mapPaths } from "./values.ts";
import { applyRecord, emptyState, STATE_VERSION, StateFileError, type State, type StateRecord, type StateStore } from "./state.ts";

/** Which paths of a resource are secret, and the cipher that keeps them encrypted at rest. */
export interface StateSecrets {
  pathsOf(kind: string, extra: readonly string[] | undefined): readonly string[];
  cipher?: StateCipher;
}

export class FileStateStore implements StateStore {
  readonly path: string;
  private readonly stack: string;
  private readonly secrets: StateSecrets;
  readonly journalPath: string;
  private journalFd: number | undefined;
  private syncScheduled = false;

  constructor(path: string, stack: string, secrets: StateSecrets = { pathsOf: () => [] }) {
    this.path = path;
    this.stack = stack;
    this.secrets = secrets;
    this.journalPath = path.replace(/\.json$/, "") + ".journal";
  }

  async load(): Promise<State> {
    return this.loadSync();
  }

  loadSync(): State {
    return this.read(true);
  }

  /**
   * State as another process may be writing it, for a look without the lock (import checks other
   * stacks' ids): secrets stay sealed and a torn last journal line is skipped, not cut off.
   */
  peek(): State {
    return this.read(false);
  }

  private read(owned: boolean): State {
    let state: State;
    let text: string | undefined;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text === undefined) {
      state = emptyState(this.stack);
    } else {
      const parsed = parseSnapshot(text);
      if (typeof parsed === "string") throw new StateFileError(`state file ${this.path} ${parsed}.\n${restoreAdvice(this.path, this.stack)}`);
      state = parsed;
      if (state.version !== STATE_VERSION) {
        throw new StateFileError(`state file ${this.path} has version ${String(state.version)}; this virtform reads version ${STATE_VERSION}`);
      }
      state.deposed ??= [];
      state.pending ??= {};
    }
    if (!owned) {
      for (const record of this.readJournal(false)) applyRecord(state, record);
      return state;
    }
    // Walking thousands of resources for sealed values is skipped when the text has none.
    if (text?.includes('"$encrypted"')) state = this.opened(state, `state file ${this.path}`, () => restoreAdvice(this.path, this.stack));
    for (const record of this.readJournal(true)) applyRecord(state, this.opened(record, `state journal ${this.journalPath}`));
    return state;
  }

  /** Sealed values opened; a damaged one is named with its file (and, for the snapshot, how to restore). */
  private opened<T>(value: T, file: string, advice?: () => string): T {
    try {
      return openAll(value, this.secrets.cipher);
    } catch (err) {
      if (!(err instanceof SecretsError) || err.reason !== "damaged") throw err;
      throw new SecretsError(`${file}: ${err.message}${advice ? `\n${advice()}` : ""}`, "damaged");
    }
  }

  private readJournal(repair: boolean): StateRecord[] {
    let text: string;
    try {
      text = readFileSync(this.journalPath, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    // A kill mid-write can leave a last line without its newline: cut it off, so the next record
    // starts on a line of its own instead of gluing onto the torn one.
    if (repair && text.length > 0 && !text.endsWith("\n")) {
      const keep = text.lastIndexOf("\n") + 1;
      truncateSync(this.journalPath, Buffer.byteLength(text.slice(0, keep)));
      text = text.slice(0, keep);
    }
    const lines = text.split("\n").filter((l) => l.length > 0);
    const records: StateRecord[] = [];
    lines.forEach((line, i) => {
      try {
        records.push(JSON.parse(line) as StateRecord);
      } catch {
        // Only the last line can be torn (a kill mid-write); anything else is damage.
        if (i !== lines.length - 1) throw new StateFileError(`state journal ${this.journalPath} is damaged at line ${i + 1}`);
      }
    });
    return records;
  }

  async record(state: State, record: StateRecord): Promise<void> {
    // A new stack gets its snapshot before its first record, so its lineage is on disk from then on.
    if (this.journalFd === undefined && !existsSync(this.path)) await this.commit(state);
    applyRecord(state, record);
    if (this.journalFd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.journalFd = openSync(this.journalPath, "a");
    }
    writeSync(this.journalFd, JSON.stringify(this.sealRecord(record)) + "\n");
    this.scheduleSync();
  }

  private seal(values: Record<string, Value>, kind: string, extra: readonly string[] | undefined): Record<string, Value> {
    return this.sealPaths(values, this.secrets.pathsOf(kind, extra));
  }

  private sealPaths(values: Record<string, Value>, paths: readonly string[]): Record<string, Value> {
    return mapPaths(values, paths, (value) => {
      if (!this.secrets.cipher) {
        throw new SecretsError("state would hold secret values: set VIRTFORM_PASSPHRASE so they are encrypted at rest");
      }
      return this.secrets.cipher.seal(value);
    });
  }

  private sealResource<R extends ResourceState>(r: R): R {
    return { ...r, inputs: this.seal(r.inputs, r.kind, r.secretPaths), outputs: this.seal(r.outputs, r.kind, r.secretPaths) };
  }

  private sealRecord(record: StateRecord): StateRecord {
    if (record.type === "set") return { ...record, resource: this.sealResource(record.resource) };
    if (record.type === "pending" && record.pending.inputs) {
      const { pending } = record;
      return { ...record, pending: { ...pending, inputs: this.seal(pending.inputs!, pending.kind, pending.secretPaths) } };
    }
    if (record.type === "outputs" && record.secretOutputs) return { ...record, outputs: this.sealPaths(record.outputs, record.secretOutputs) };
    return record;
  }

  private sealState(state: State): State {
    return {
      ...state,
      resources: Object.fromEntries(Object.entries(state.resources).map(([a, r]) => [a, this.sealResource(r)])),
      deposed: state.deposed.map((d) => this.sealResource(d)),
      pending: Object.fromEntries(
        Object.entries(state.pending).map(([a, p]) => [a, p.inputs ? { ...p, inputs: this.seal(p.inputs, p.kind, p.secretPaths) } : p]),
      ),
      outputs: this.sealPaths(state.outputs, state.secretOutputs ?? []),
    };
  }

  /** One fdatasync covers every record written since the last one (group commit). */
  private scheduleSync(): void {
    if (this.syncScheduled || this.journalFd === undefined) return;
    this.syncScheduled = true;
    const fd = this.journalFd;
    setImmediate(() =>
      fdatasync(fd, () => {
        this.syncScheduled = false;
      }),
    );
  }

  async commit(state: State): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    if (existsSync(this.path)) copyFileSync(this.path, `${this.path}.backup`);
    const temp = `${this.path}.${process.pid}.tmp`;
    const text = JSON.stringify(this.sealState(state), null, 2) + "\n";
    saveHistory(historyDir(this.path, this.stack), state.serial, text);
    const fd = openSync(temp, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    // The snapshot now holds every record: the journal can go.
    if (this.journalFd !== undefined) {
      closeSync(this.journalFd);
      this.journalFd = undefined;
    }
    rmSync(this.journalPath, { force: true });
  }
}
