// The state lock: a PidLock (durable/pid-lock.ts), so exactly one process can hold it (no
// check-then-write). It says who holds it; a lock whose process is gone from this host is taken
// over, and `virtform force-unlock ID` removes a lock by its id.
import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { ownerIsGone, PidLock, type LockFormat } from "../durable/pid-lock.ts";

export interface LockInfo {
  id: string;
  operation: string;
  who: string;
  pid: number;
  host: string;
  created: string;
  version: 1;
}

export class LockedError extends Error {
  readonly holder: LockInfo | undefined;
  readonly stale: boolean;

  constructor(holder: LockInfo | undefined, stale: boolean, path: string) {
    super(describeHolder(holder, stale, path));
    this.holder = holder;
    this.stale = stale;
    this.name = "LockedError";
  }
}

function describeHolder(holder: LockInfo | undefined, stale: boolean, path: string): string {
  if (!holder) return `state is locked (${path}), and the lock file cannot be read`;
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

export interface StateLock {
  info: LockInfo;
  release(): void;
}

/** The lock file holds its LockInfo as indented JSON (what earlier versions read and wrote). */
const lockInfoFormat: LockFormat<LockInfo> = {
  encode: (info) => JSON.stringify(info, null, 2) + "\n",
  decode: (text) => {
    try {
      const info = JSON.parse(text) as LockInfo | null;
      return typeof info === "object" && info !== null ? info : undefined;
    } catch {
      return undefined;
    }
  },
};

function pidLock(path: string): PidLock<LockInfo> {
  return new PidLock(path, lockInfoFormat);
}

export function readStateLock(path: string): LockInfo | undefined {
  return pidLock(path).holder()?.owner;
}

export function isStale(info: LockInfo | undefined): boolean {
  return info !== undefined && ownerIsGone(info);
}

function newLockInfo(operation: string): LockInfo {
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

/** Takes the lock now, taking over a stale one (see PidLock); LockedError when another holds it. */
function take(path: string, operation: string, onStale?: (holder: LockInfo) => void): StateLock {
  const lock = pidLock(path);
  const info = newLockInfo(operation);
  const outcome = lock.acquire(info, onStale);
  if (!outcome.taken) throw new LockedError(outcome.holder.owner, outcome.holder.stale, path);
  let released = false;
  return {
    info,
    release() {
      if (released) return;
      released = true;
      // Only remove our own lock: a force-unlock may have handed it to someone else.
      lock.release((owner) => owner.id === info.id);
    },
  };
}

/** Takes the lock now or throws LockedError; a stale lock is taken over as in acquireLock. */
export function acquireLockNow(path: string, operation: string, onStale?: (holder: LockInfo) => void): StateLock {
  return take(path, operation, onStale);
}

/**
 * Acquires the lock, retrying with backoff up to `timeoutMs` (0: fail at once). A stale lock (its
 * process is gone from this host) is taken over, and `onStale` is told whose it was.
 */
export async function acquireLock(
  path: string,
  operation: string,
  timeoutMs = 0,
  onStale?: (holder: LockInfo) => void,
): Promise<StateLock> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    try {
      return take(path, operation, onStale);
    } catch (err) {
      if (!(err instanceof LockedError) || Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
  }
}

export function forceUnlock(path: string, id: string): LockInfo {
  const holder = readStateLock(path);
  if (!holder) throw new Error(`no lock is held (${path})`);
  if (holder.id !== id) throw new Error(`the lock's id is ${holder.id}, not ${id}; nothing was removed`);
  pidLock(path).remove();
  return holder;
}
