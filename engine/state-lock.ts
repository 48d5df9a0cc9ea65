// The state lock of a file store: a PidLock (durable/pid-lock.ts), so exactly one process can hold
// it (no check-then-write). It says who holds it; a lock whose process is gone from this host is
// taken over, and `virtform force-unlock ID` removes a lock by its id.
import { ownerIsGone, PidLock, type LockFormat } from "../durable/pid-lock.ts";
import { checkUnlock, LockedError, newLockInfo, retryLock, type LockInfo, type StateLock } from "./state-store.ts";

export { LockedError, type LockInfo, type StateLock } from "./state-store.ts";

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
  return retryLock(() => take(path, operation, onStale), timeoutMs);
}

export function forceUnlock(path: string, id: string): LockInfo {
  const holder = checkUnlock(readStateLock(path), id, path);
  pidLock(path).remove();
  return holder;
}
