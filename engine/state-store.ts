// The state contract every store implements (the file store today, a database later), split as
// Terraform's statemgr splits it: a reader, a writer and a locker. The engine asks only for the part
// it uses: apply writes, a plan reads, an operation locks. test/engine/state-store-conformance.ts
// holds the rules each store must pass.
import { hostname, userInfo } from "node:os";
import { randomUUID } from "node:crypto";
import { VirtformError } from "../core/virtform-error.ts";
import type { State, StateRecord } from "./state.ts";

export interface StateReader {
  /** The file state is kept in, when it is one: named in messages about its content. */
  readonly path?: string;
  /** The state as persisted: the last snapshot with every record since replayed over it. */
  load(): Promise<State>;
}

export interface StateWriter {
  /**
   * Applies a change to `state` and persists it before returning. A record that changes nothing
   * leaves the serial as it is (see applyRecord).
   */
  record(state: State, record: StateRecord): Promise<void>;
  /** Writes the whole state as one snapshot (end of a run; also compacts what was recorded). */
  commit(state: State): Promise<void>;
}

/** Who holds a stack's lock, and for what. */
export interface LockInfo {
  id: string;
  operation: string;
  who: string;
  pid: number;
  host: string;
  created: string;
  version: 1;
}

export interface StateLock {
  info: LockInfo;
  /** Gives the lock back; a second call, or a lock force-unlocked meanwhile, does nothing. */
  release(): void;
}

export interface LockOptions {
  /** Wait this long for a held lock (0: refuse at once). */
  timeoutMs?: number;
  /** Told whose stale lock (its process is gone) was taken over. */
  onStale?: (holder: LockInfo) => void;
}

export interface StateLocker {
  /** Takes the stack's lock for `operation`; LockedError when another holds it past the timeout. */
  lock(operation: string, options?: LockOptions): Promise<StateLock>;
  /** Removes the lock whose id is `id` whoever holds it (`virtform force-unlock`); returns its holder. */
  forceUnlock(id: string): LockInfo;
}

export interface StateStore extends StateReader, StateWriter, StateLocker {}

export class LockedError extends VirtformError<"state-locked"> {
  readonly layer = "state";
  readonly holder: LockInfo | undefined;
  readonly stale: boolean;

  constructor(holder: LockInfo | undefined, stale: boolean, where: string) {
    super("state-locked", describeHolder(holder, stale, where));
    this.holder = holder;
    this.stale = stale;
  }
}

/** force-unlock refused: no lock is held, or the lock held has another id. */
export class UnlockError extends VirtformError<"lock-not-held" | "lock-id-mismatch"> {
  readonly layer = "state";
}

/** The holder force-unlock may remove: the one whose id is `id`. */
export function checkUnlock(holder: LockInfo | undefined, id: string, where: string): LockInfo {
  if (!holder) throw new UnlockError("lock-not-held", `no lock is held (${where})`);
  if (holder.id !== id) throw new UnlockError("lock-id-mismatch", `the lock's id is ${holder.id}, not ${id}; nothing was removed`);
  return holder;
}

function describeHolder(holder: LockInfo | undefined, stale: boolean, where: string): string {
  if (!holder) return `state is locked (${where}), and the lock file cannot be read`;
  const lines = [
    `state is locked by ${holder.who} (pid ${holder.pid} on ${holder.host}) for ${holder.operation} since ${holder.created}`,
    `  lock id: ${holder.id}`,
  ];
  if (stale) {
    lines.push(`  the lock is stale: process ${holder.pid} no longer runs on this host; remove it with: virtform force-unlock ${holder.id}`);
  } else {
    lines.push(`  wait for it to finish, or pass --lock-timeout to wait; if it is stuck: virtform force-unlock ${holder.id}`);
  }
  return lines.join("\n");
}

export function newLockInfo(operation: string): LockInfo {
  return {
    id: randomUUID(),
    operation,
    who: `${userInfo().username}@${hostname()}`,
    pid: process.pid,
    host: hostname(),
    created: new Date().toISOString(),
    version: 1,
  };
}

/** Retries `take` with backoff until it stops throwing LockedError or `timeoutMs` has passed. */
export async function retryLock(take: () => StateLock, timeoutMs = 0): Promise<StateLock> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    try {
      return take();
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
  }
}
