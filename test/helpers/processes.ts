// Processes a test starts or watches: their first lines of output, whether one still runs, and
// stopping one that may be gone already.
import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";

/** The first `count` lines a stream writes (the rest is left to whoever reads on). */
export function firstLines(stream: Readable, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split("\n");
      if (lines.length > count) {
        stream.off("data", onData);
        resolve(lines.slice(0, count));
      }
    };
    stream.on("data", onData);
  });
}

/** Whether a process runs: a zombie does not (this machine's init may never reap it). */
export function alive(pid: number | string): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Signals a process that may be gone already. */
export function killQuietly(pid: number, signal: NodeJS.Signals = "SIGTERM"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
