// Which of V8's compilers a run of the CLI uses. plan, apply, destroy and the other engine commands
// are batch jobs of a second or two: the optimizing compiler (TurboFan) spends more time compiling
// the hot code than its faster code gives back within that run (plan at N=5,000: a fifth less CPU
// without it, apply no slower; BENCHMARKS.md), so they run on V8's interpreter, baseline and mid-tier
// (Maglev) code. The emulator's server runs for hours, and the images commands parse a whole package
// catalog and solve over it (images lock was about 5 % slower without TurboFan): they keep it.
import { setFlagsFromString } from "node:v8";

/** The top-level commands (cli/main.ts): the first of these on the command line is the command run. */
const COMMANDS = new Set(["plan", "apply", "destroy", "refresh", "import", "force-unlock", "graph", "review", "check", "init", "state", "output", "images", "emulator"]);

/** Whether the command line (process.argv without node and the script) runs a command that keeps TurboFan. */
export function keepsTurbofan(args: readonly string[]): boolean {
  const at = args.findIndex((a) => COMMANDS.has(a));
  if (at < 0) return false;
  if (args[at] === "images") return true;
  return args[at] === "emulator" && args.indexOf("serve", at + 1) > at;
}

/** Turns TurboFan off for a short command; before any of the CLI's own code has run hot. */
export function chooseCompilerTier(args: readonly string[]): void {
  if (!keepsTurbofan(args)) setFlagsFromString("--no-turbofan");
}
