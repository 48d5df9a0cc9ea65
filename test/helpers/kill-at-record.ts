// Preloaded into a real `virtform` process (node --import) by the crash tests: VIRTFORM_KILL_AT=
// before:N or after:N SIGKILLs the process just before or just after its N-th state record.
import { watchStateRecords } from "./state-journal-writes.ts";

const match = /^(before|after):(\d+)$/.exec(process.env.VIRTFORM_KILL_AT ?? "");
if (match) {
  const [, phase, at] = match;
  watchStateRecords((n, p) => {
    if (n === Number(at) && p === phase) process.kill(process.pid, "SIGKILL");
  });
}
