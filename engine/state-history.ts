// The last snapshots of a stack's state, kept beside it in `history/<stack>/<serial>.json` (the
// newest HISTORY_KEEP serials), so that a state file damaged after it was written (a bad edit, a
// disk fault, a copy cut short) has a copy that is really the last good state, not only the one
// before it (`.backup`). A corrupt-state error names the newest copy that parses.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../durable/write-file-atomic.ts";
import { STATE_VERSION, type State } from "./state.ts";

export const HISTORY_KEEP = 10;

export function historyDir(statePath: string, stack: string): string {
  return join(dirname(statePath), "history", stack);
}

/** Keeps `text` (the snapshot as written) under its serial and drops all but the newest `keep`. */
export function saveHistory(dir: string, serial: number, text: string, keep = HISTORY_KEEP): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, `${serial}.json`), text);
  for (const old of serials(dir).slice(keep)) rmSync(join(dir, `${old}.json`), { force: true });
}

export interface GoodSnapshot {
  path: string;
  serial: number;
  savedAt: Date;
}

/** The newest kept snapshot that parses as state, if any. */
export function newestGoodSnapshot(dir: string): GoodSnapshot | undefined {
  for (const serial of serials(dir)) {
    const path = join(dir, `${serial}.json`);
    try {
      const parsed = parseSnapshot(readFileSync(path, "utf8"));
      if (typeof parsed !== "string" && parsed.version === STATE_VERSION) return { path, serial, savedAt: statSync(path).mtime };
    } catch {
      // unreadable: try the one before
    }
  }
  return undefined;
}

/** State from a snapshot's text (of any version), or why it is not one. */
export function parseSnapshot(text: string): State | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `is not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a state document (not a JSON object)";
  const state = value as State;
  if (state.version !== STATE_VERSION) return state; // the caller says which versions it reads
  if (typeof state.resources !== "object" || state.resources === null || typeof state.lineage !== "string" || typeof state.serial !== "number") {
    return "is not a state document (no resources, lineage or serial)";
  }
  return state;
}

/** Newest first. */
function serials(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^(\d+)\.json$/.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

/** What a corrupt state file's error says: the newest good snapshot, what restoring it means, and how. */
export function restoreAdvice(statePath: string, stack: string): string {
  const dir = historyDir(statePath, stack);
  const good = newestGoodSnapshot(dir);
  if (!good) {
    return `No kept snapshot of it parses (in ${dir}). If the backend still holds the stack's objects, move the file aside and run \`virtform state recover\`: it rebuilds state from the objects' tags.`;
  }
  return (
    `The newest kept snapshot that parses is ${good.path} (serial ${good.serial}, saved ${good.savedAt.toISOString()}). ` +
    `Restoring it sets the stack's state back to serial ${good.serial}: objects created after it are not in it (the next plan finds them by their tags, and \`virtform state recover\` adopts them), and objects deleted after it drop out at the next refresh. ` +
    `Restore it with: cp ${shellQuote(good.path)} ${shellQuote(statePath)}`
  );
}

function shellQuote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
