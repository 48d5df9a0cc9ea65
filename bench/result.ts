// What a benchmark script hands to `npm run bench` (bench/run.ts): with `--json`, the script's tables
// and progress go to stderr and its last line on stdout is one JSON document of this shape, so the
// runner never reads the text meant for people.
export interface Row {
  /** What was measured, e.g. "plan, N=5,000". */
  what: string;
  /** Unit of ours and peer: "s", "MiB/s", "ms" ... */
  unit: string;
  ours: number;
  /** The same measure of the tool we compare with, when there is one. */
  peer?: number;
  /** The peer's name, e.g. "terraform_data", "nbdkit". */
  peerName?: string;
  /** The ratio the target is stated in (e.g. peer / ours for "15x faster"), with how to read it. */
  ratio?: number;
  ratioMeaning?: string;
  /** The target as a sentence, e.g. ">= 15x" or "<= 2 s". */
  target?: string;
  met?: boolean;
}

export interface BenchResult {
  benchmark: string;
  /** The command that produced it, for people to rerun. */
  command: string;
  rows: Row[];
  /** Conditions worth stating beside the figures (skipped parts, run counts). */
  notes?: string[];
}

/**
 * Takes `--json` out of the script's arguments (scripts read the rest as their own) and, when it was
 * there, sends console.log to stderr so stdout holds only the result.
 */
export function takeJsonFlag(): boolean {
  const at = process.argv.indexOf("--json");
  if (at < 0) return false;
  process.argv.splice(at, 1);
  console.log = console.error;
  return true;
}

/** Writes the result as the last line of stdout (in --json mode). */
export function emitResult(json: boolean, result: BenchResult): void {
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The command a person types to rerun the script with these arguments. */
export function commandOf(script: string, args: readonly string[] = process.argv.slice(2)): string {
  return ["node", script, ...args].join(" ");
}
