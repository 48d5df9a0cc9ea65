// pool.lock: one process at a time has a thin pool open. A PidLock (durable/pid-lock.ts) whose file
// holds the bare pid of the owner, as it always has; a dead owner's lock is taken over under the
// takeover guard, so two openers that both saw it dead cannot both open the pool.
import { join } from "node:path";
import { PidLock, type LockFormat, type LockOwner } from "../../durable/pid-lock.ts";
import { StorageError } from "./block-device.ts";

export const POOL_LOCK_FILE = "pool.lock";

const barePid: LockFormat<LockOwner> = {
  encode: (owner) => `${owner.pid}\n`,
  decode: (text) => {
    const pid = /^\s*(\d+)\s*$/.exec(text)?.[1];
    return pid === undefined ? undefined : { pid: Number(pid) };
  },
};

function poolLock(dir: string): PidLock<LockOwner> {
  return new PidLock(join(dir, POOL_LOCK_FILE), barePid);
}

/** Takes the pool's lock for this process, or throws LOCKED naming the process that has it open. */
export function takePoolLock(dir: string): void {
  const lock = poolLock(dir);
  const outcome = lock.acquire({ pid: process.pid });
  if (outcome.taken) return;
  const owner = outcome.holder.owner;
  if (owner === undefined) {
    throw new StorageError("LOCKED", `pool ${dir} is locked by ${lock.path}, which names no process; remove it if no process has the pool open`);
  }
  if (outcome.holder.stale) {
    // Its owner is gone but the takeover guard is held: another opener is taking it over right now,
    // or one was killed in the middle of that and left the guard behind.
    throw new StorageError("LOCKED", `pool ${dir} was left locked by process ${owner.pid}, which no longer runs, and another process is taking the lock over; if none is, remove ${lock.path}.takeover`);
  }
  throw new StorageError("LOCKED", `pool ${dir} is open in process ${owner.pid}${owner.pid === process.pid ? " (this one)" : ""}; close it first`);
}

/** Releases the lock if this process holds it. */
export function releasePoolLock(dir: string): void {
  poolLock(dir).release((owner) => owner.pid === process.pid);
}
