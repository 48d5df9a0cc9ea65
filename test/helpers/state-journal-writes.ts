// Watches the state journal from outside the engine: every write to `.virtform/state/<stack>.journal`
// is one state record (FileStateStore writes each record with one writeSync). Crash tests use it to
// stop a run just before or just after the N-th record, with no hook in production code.
import fs, { readlinkSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";

export type RecordPhase = "before" | "after";

const JOURNAL = /\/\.virtform\/state\/[^/]+\.journal$/;

function isStateJournal(fd: number): boolean {
  try {
    return JOURNAL.test(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return false;
  }
}

/** Calls `onRecord(n, phase)` around the n-th state record written from now on; returns the undo. */
export function watchStateRecords(onRecord: (n: number, phase: RecordPhase) => void): () => void {
  const original = fs.writeSync;
  let count = 0;
  fs.writeSync = function (this: unknown, fd: number, ...rest: unknown[]) {
    if (!isStateJournal(fd)) return (original as (...a: unknown[]) => number).call(this, fd, ...rest);
    const n = ++count;
    onRecord(n, "before");
    const written = (original as (...a: unknown[]) => number).call(this, fd, ...rest);
    onRecord(n, "after");
    return written;
  } as typeof fs.writeSync;
  // ES module imports of node:fs (`import { writeSync }`) are live bindings: update them too.
  syncBuiltinESMExports();
  return () => {
    fs.writeSync = original;
    syncBuiltinESMExports();
  };
}
