// State on disk: `<stack>.json` is the last snapshot, `<stack>.journal` the records appended since
// (one JSON line each). A record is written before the call it announces returns, so a SIGKILL
// loses nothing; the journal (durable/journal-file.ts) is fsynced in groups, and folded into a new
// snapshot (atomic replace, previous snapshot kept as `.backup`, the last ten in `history/`) at the
// end of every run. Each step costs one appended line, not a rewrite of the whole state. The lock is
// `<stack>.lock` beside them (state-lock.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { JournalDamagedError, JournalFile } from "../durable/journal-file.ts";
import type { ResourceState, Value } from "../core/model.ts";
import { SecretsError } from "../core/secrets-error.ts";
import { openAll, type StateCipher } from "./state-crypto.ts";
import { historyDir, parseSnapshot, restoreAdvice, saveHistory } from "./state-history.ts";
import { mapPaths } from "../core/values.ts";
import { applyRecord, emptyState, STATE_VERSION, StateFileError, type State, type StateRecord } from "./state.ts";
import { acquireLock, forceUnlock } from "./state-lock.ts";
import type { LockInfo, LockOptions, StateLock, StateStore } from "./state-store.ts";

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
  readonly lockPath: string;
  private readonly journal: JournalFile<StateRecord>;

  constructor(path: string, stack: string, secrets: StateSecrets = { pathsOf: () => [] }) {
    this.path = path;
    this.stack = stack;
    this.secrets = secrets;
    this.journalPath = path.replace(/\.json$/, "") + ".journal";
    this.lockPath = path.replace(/\.json$/, "") + ".lock";
    this.journal = new JournalFile(this.journalPath);
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
        throw new StateFileError(`state file ${this.path} has version ${String(state.version)}; this virtform reads version ${STATE_VERSION}`, "state-version");
      }
      state.deposed ??= [];
      state.pending ??= {};
    }
    if (!owned) {
      for (const record of this.readJournal()) applyRecord(state, record);
      return state;
    }
    // Walking thousands of resources for sealed values is skipped when the text has none.
    if (text?.includes('"$encrypted"')) state = this.opened(state, `state file ${this.path}`, () => restoreAdvice(this.path, this.stack));
    for (const record of this.readJournal()) applyRecord(state, this.opened(record, `state journal ${this.journalPath}`));
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

  /** The journal's records; a torn last line (a kill mid-write) is skipped, and cut off by the next record. */
  private readJournal(): StateRecord[] {
    try {
      return this.journal.readAll();
    } catch (err) {
      if (err instanceof JournalDamagedError) throw new StateFileError(`state journal ${err.message}`);
      throw err;
    }
  }

  async lock(operation: string, options: LockOptions = {}): Promise<StateLock> {
    return acquireLock(this.lockPath, operation, options.timeoutMs ?? 0, options.onStale);
  }

  forceUnlock(id: string): LockInfo {
    return forceUnlock(this.lockPath, id);
  }

  async record(state: State, record: StateRecord): Promise<void> {
    // A new stack gets its snapshot before its first record, so its lineage is on disk from then on.
    if (!this.journal.isOpen && !existsSync(this.path)) await this.commit(state);
    // Sealed first: a record that cannot be kept (a secret without a passphrase) leaves state as it was.
    const sealed = this.sealRecord(record);
    // A record that changes nothing has nothing to persist.
    if (applyRecord(state, record)) this.journal.append(sealed);
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

  async commit(state: State): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    // A convenience copy, not fsynced: history/ holds the durable copies.
    if (existsSync(this.path)) copyFileSync(this.path, `${this.path}.backup`);
    const text = JSON.stringify(this.sealState(state), null, 2) + "\n";
    saveHistory(historyDir(this.path, this.stack), state.serial, text);
    // The snapshot now holds every record: the journal goes.
    this.journal.compact(this.path, text);
  }
}
