// A lock file that exactly one process holds: created exclusively (a fully written temp file linked
// into place, so the lock is never seen empty or half written; no check-then-write), holding its
// owner's info with the owner's pid. A lock whose owner no longer runs on this host is stale and
// is taken over; a second lock file (`<lock>.takeover`) guards the takeover, and under it the lock is
// removed only if it is still the very stale one seen, so two openers that both saw a dead owner
// cannot both hold the lock (the second would otherwise remove the first's fresh lock).
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";

/** What a lock file says about its owner: its pid and, when it says so, its host. */
export interface LockOwner {
  pid: number;
  host?: string;
}

/** How an owner is written into the lock file and read back (undefined: the text is not an owner). */
export interface LockFormat<O extends LockOwner> {
  encode(owner: O): string;
  decode(text: string): O | undefined;
}

/** Who holds the lock: their info as decoded (undefined when the file cannot be read as one), and whether they are gone. */
export interface LockHolder<O extends LockOwner> {
  owner: O | undefined;
  stale: boolean;
}

export class PidLock<O extends LockOwner> {
  readonly path: string;
  private readonly format: LockFormat<O>;

  constructor(path: string, format: LockFormat<O>) {
    this.path = path;
    this.format = format;
  }

  /** Takes the lock for `owner` if it is free; true when taken. */
  tryCreate(owner: O): boolean {
    mkdirSync(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.new`;
    const fd = openSync(temp, "w");
    try {
      writeSync(fd, this.format.encode(owner));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, this.path); // fails with EEXIST while another holds the lock: the exclusive create
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** The lock file's text, or undefined when there is none; "" when it cannot be read (held by someone unknown, never taken over). */
  private text(): string | undefined {
    try {
      return readFileSync(this.path, "utf8");
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT" ? undefined : "";
    }
  }

  /** The holder now, or undefined when the lock is free. */
  holder(): LockHolder<O> | undefined {
    const text = this.text();
    if (text === undefined) return undefined;
    const owner = this.format.decode(text);
    return { owner, stale: owner !== undefined && ownerIsGone(owner) };
  }

  /**
   * Takes the lock for `owner`, taking over a stale one; otherwise says who holds it. `onStale` is
   * told whose lock was taken over.
   */
  acquire(owner: O, onStale?: (previous: O) => void): { taken: true } | { taken: false; holder: LockHolder<O> } {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.tryCreate(owner)) return { taken: true };
      const text = this.text();
      if (text === undefined) continue; // released in between: try again
      const previous = this.format.decode(text);
      if (previous === undefined || !ownerIsGone(previous)) return { taken: false, holder: { owner: previous, stale: false } };
      if (!this.takeOver(text)) return { taken: false, holder: this.holder() ?? { owner: previous, stale: true } };
      onStale?.(previous);
    }
    return { taken: false, holder: this.holder() ?? { owner: undefined, stale: false } };
  }

  /**
   * Removes the lock if it still is `staleText` and its owner is still gone, under the takeover
   * guard: of two openers that saw the same stale lock, the second finds it gone or replaced by the
   * first's, and removes nothing.
   */
  takeOver(staleText: string): boolean {
    const guard = `${this.path}.takeover`;
    let fd: number;
    try {
      fd = openSync(guard, "wx");
    } catch {
      return false;
    }
    try {
      const current = this.text();
      if (current !== staleText) return false;
      const owner = this.format.decode(current);
      if (owner === undefined || !ownerIsGone(owner)) return false;
      rmSync(this.path, { force: true });
      return true;
    } finally {
      closeSync(fd);
      rmSync(guard, { force: true });
    }
  }

  /** Removes the lock if `isOurs` says its current owner is us (a force-unlock may have handed it to another). */
  release(isOurs: (owner: O) => boolean): void {
    const text = this.text();
    if (text === undefined) return;
    const owner = this.format.decode(text);
    if (owner !== undefined && isOurs(owner)) rmSync(this.path, { force: true });
  }

  /** Removes the lock whoever holds it (force-unlock). */
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

/** Whether the owner's process is gone: only known for this host (a pid elsewhere says nothing here). */
export function ownerIsGone(owner: LockOwner): boolean {
  if (owner.host !== undefined && owner.host !== hostname()) return false;
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
