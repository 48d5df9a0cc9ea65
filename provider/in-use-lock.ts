// in-use.lock: one process at a time keeps an emulator's data dir open (`emulator serve`, a CLI
// command with the embedded emulator, the Pulumi or Terraform plugin): two writers would overwrite
// each other's changes. It records its holder and is taken over from a dead one as the state lock is
// (engine/state-lock.ts), but it guards the emulator's data, not a stack's state.
import { join } from "node:path";
import { VirtformError } from "../core/virtform-error.ts";
import { acquireLockNow, LockedError, type LockInfo } from "../engine/state-lock.ts";

export const IN_USE_LOCK_FILE = "in-use.lock";

export type InUseLock = ReturnType<typeof acquireLockNow>;

/** Another process has the data dir open; `message` says who, and each front door adds what to do. */
export class InUseError extends VirtformError<"in-use"> {
  readonly layer = "provider";
  readonly holder: LockInfo;

  constructor(dataDir: string, holder: LockInfo) {
    super("in-use", `the emulator data in ${dataDir} is in use by ${holder.who} (pid ${holder.pid}, ${holder.operation} since ${holder.created})`);
    this.holder = holder;
  }
}

/** Takes the data dir's in-use lock now (a dead holder's is taken over), or throws InUseError. */
export function acquireInUseLock(dataDir: string, operation: string, onStale?: (holder: LockInfo) => void): InUseLock {
  try {
    return acquireLockNow(join(dataDir, IN_USE_LOCK_FILE), operation, onStale);
  } catch (err) {
    if (err instanceof LockedError && err.holder) throw new InUseError(dataDir, err.holder);
    throw err;
  }
}
