// The state lock: a file created with O_EXCL, so exactly one process can hold it (no
// check-then-write). It says who holds it; a lock whose process is gone from this host is reported
// as stale, and `virtform force-unlock ID` removes a lock by its id.
import { randomUUID } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { dirname } from "node:path";

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

export function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
}

export function isStale(info: LockInfo | undefined): boolean {
  if (!info || info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function tryAcquire(path: string, operation: string): StateLock | undefined {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw err;
  }
  const info: LockInfo = {
    id: randomUUID(),
    operation,
    who: `${userInfo().username}@${hostname()}`,
    pid: process.pid,
    host: hostname(),
    created: new Date().toISOString(),
    version: 1,
  };
  try {
    writeSync(fd, JSON.stringify(info, null, 2) + "\n");
  } finally {
    closeSync(fd);
  }
  let released = false;
  return {
    info,
    release() {
      if (released) return;
      released = true;
      // Only remove our own lock: a force-unlock may have handed it to someone else.
      if (readLock(path)?.id === info.id) rmSync(path, { force: true });
    },
  };
}

/**
 * Removes a lock whose process died on this host (a killed run must not block the next one). A
 * second lock file serialises take-overs, so two runs cannot both remove and re-create it.
 */
function takeOverStale(path: string, stale: LockInfo): boolean {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, "wx");
  } catch {
    return false;
  }
  try {
    const current = readLock(path);
    if (current?.id !== stale.id || !isStale(current)) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    closeSync(fd);
    rmSync(guard, { force: true });
  }
}

/** Takes the lock now or throws LockedError; a stale lock is taken over as in acquireLock. */
export function acquireLockNow(path: string, operation: string, onStale?: (holder: LockInfo) => void): StateLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = tryAcquire(path, operation);
    if (lock) return lock;
    const holder = readLock(path);
    if (!(holder && isStale(holder) && takeOverStale(path, holder))) throw new LockedError(holder, false, path);
    onStale?.(holder);
  }
  throw new LockedError(readLock(path), false, path);
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
    const lock = tryAcquire(path, operation);
    if (lock) return lock;
    const holder = readLock(path);
    if (holder && isStale(holder) && takeOverStale(path, holder)) {
      onStale?.(holder);
      continue;
    }
    if (Date.now() >= deadline) throw new LockedError(holder, isStale(holder), path);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
  }
}

export function forceUnlock(path: string, id: string): LockInfo {
  const holder = readLock(path);
  if (!holder) throw new Error(`no lock is held (${path})`);
  if (holder.id !== id) throw new Error(`the lock's id is ${holder.id}, not ${id}; nothing was removed`);
  rmSync(path, { force: true });
  return holder;
}
