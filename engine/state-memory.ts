// A state store that keeps its state in memory: rehearsals (a throw-away copy of the backend) and
// tests. It keeps the whole contract (persisted copy, serial, lineage, lock), so the conformance
// suite runs against it as against the file store.
import { applyRecord, emptyState, forkState, type State, type StateRecord } from "./state.ts";
import { checkUnlock, LockedError, newLockInfo, retryLock, type LockInfo, type LockOptions, type StateLock, type StateStore } from "./state-store.ts";

export class MemoryStateStore implements StateStore {
  /** Every record that changed state, in order: what a file store would have journalled. */
  readonly records: StateRecord[] = [];
  /** How many snapshots were committed. */
  commits = 0;
  private persisted: State;
  private holder: LockInfo | undefined;

  constructor(initial: State | string) {
    this.persisted = typeof initial === "string" ? emptyState(initial) : structuredClone(initial);
  }

  async load(): Promise<State> {
    return structuredClone(this.persisted);
  }

  async record(state: State, record: StateRecord): Promise<void> {
    if (!applyRecord(state, record)) return;
    this.records.push(record);
    // The persisted copy follows record by record, as a journal replay would.
    applyRecord(this.persisted, record);
  }

  async commit(state: State): Promise<void> {
    this.commits += 1;
    // Records replace whole entries and never change one in place: the containers are copied.
    this.persisted = forkState(state);
  }

  async lock(operation: string, options: LockOptions = {}): Promise<StateLock> {
    return retryLock(() => this.take(operation), options.timeoutMs ?? 0);
  }

  private take(operation: string): StateLock {
    if (this.holder) throw new LockedError(this.holder, false, "memory");
    const info = newLockInfo(operation);
    this.holder = info;
    return {
      info,
      release: () => {
        if (this.holder?.id === info.id) this.holder = undefined;
      },
    };
  }

  forceUnlock(id: string): LockInfo {
    const holder = checkUnlock(this.holder, id, "memory");
    this.holder = undefined;
    return holder;
  }
}
