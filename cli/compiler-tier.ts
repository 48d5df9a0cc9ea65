// Which of V8's compilers a run of the CLI uses. A command is a batch job of a second or two: the
// optimizing compiler (TurboFan) spends more time compiling the hot code than its faster code gives
// back within that run (plan at N=5,000: a fifth less CPU without it, apply no slower; BENCHMARKS.md),
// so commands run on V8's interpreter, baseline and mid-tier (Maglev) code. The emulator's server
// runs for hours and keeps TurboFan.
import { setFlagsFromString } from "node:v8";

/** Whether the command line (process.argv without node and the script) starts a long-running server. */
export function runsLong(args: readonly string[]): boolean {
  const emulator = args.indexOf("emulator");
  return emulator >= 0 && args.indexOf("serve", emulator + 1) > emulator;
}

/** Turns TurboFan off for a short command; before any of the CLI's own code has run hot. */
export function chooseCompilerTier(args: readonly string[]): void {
  if (!runsLong(args)) setFlagsFromString("--no-turbofan");
}
