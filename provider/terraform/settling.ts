// Terraform plans and applies resources in parallel (up to -parallelism calls at once, 10 by
// default) and in no set order: a change the backend, or the plan's copy of it, refuses for want of
// room may have come before the destroy that makes the room. Such a change waits: it is tried again
// once another call has finished (at growing intervals, so that a long apply is not flooded with
// tries), and refused for good once every call under way is waiting too and none has come for a
// while. A waiting call keeps its place among Terraform's parallel calls, so
// with as many refused changes waiting as Terraform runs at once, the rest cannot come: they are
// refused then, as they were before this waiting.
import { isVirtformError } from "../../core/virtform-error.ts";

/** How long no call must have come, with every call under way waiting, before a refusal stands. */
export const QUIET_MS = 100;
/** The longest a refused change waits for the others. */
const LONGEST_WAIT_MS = 60_000;
/** The longest interval between two tries of a waiting change. */
const LONGEST_INTERVAL_MS = 1_000;

export class Settling {
  /** Calls under way, those of them waiting for room, calls finished so far, and when the last came. */
  private calls = 0;
  private waiting = 0;
  private finished = 0;
  private lastCall = 0;

  /** A call that reads or changes the backend, counted: the waiting below needs to know what else is under way. */
  async counted<T>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    this.lastCall = performance.now();
    try {
      return await call();
    } finally {
      this.calls--;
      this.finished++;
    }
  }

  /**
   * `change()`; refused for want of room (or a conflict another change may clear), tried again each
   * time another call has finished, `beforeRetry` first, until it goes through or the calls settle.
   */
  async retriedOnRoom<T>(change: () => Promise<T>, beforeRetry: () => Promise<void> = async () => {}): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (!mayClear(err)) throw err;
    }
    this.waiting++;
    try {
      const deadline = performance.now() + LONGEST_WAIT_MS;
      let seen = this.finished;
      let interval = QUIET_MS / 4;
      let nextTry = performance.now() + interval;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 4));
        const last = this.settled() || performance.now() >= deadline;
        if (!last && (this.finished === seen || performance.now() < nextTry)) continue;
        seen = this.finished;
        await beforeRetry();
        try {
          return await change();
        } catch (err) {
          if (last || !mayClear(err)) throw err;
        }
        interval = Math.min(interval * 2, LONGEST_INTERVAL_MS);
        nextTry = performance.now() + interval;
      }
    } finally {
      this.waiting--;
    }
  }

  private settled(): boolean {
    return this.waiting === this.calls && performance.now() - this.lastCall >= QUIET_MS;
  }
}

function mayClear(err: unknown): boolean {
  return isVirtformError(err) && (err.code === "capacity" || err.code === "conflict");
}
