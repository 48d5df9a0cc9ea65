// The plan's capacity section: used of usable per cluster and pool, before and after the plan, for
// what the plan changes. Only the stack's own clusters and pools are shown, matched by id: another
// stack on the same backend may well have a cluster.web of its own.
import type { CapacityRow } from "../provider.ts";
import type { State } from "../state.ts";

export interface CapacityChange {
  id: string;
  /** The cluster's or pool's address in this stack. */
  owner: string;
  measure: string;
  unit: string;
  before: { used: number; total: number } | null;
  after: { used: number; total: number } | null;
}

/** The rows of objects `state` holds, named by their addresses there; other stacks' rows are left out. */
export function ownRows(rows: readonly CapacityRow[], state: Pick<State, "resources">): CapacityRow[] {
  const addressOf = new Map(Object.entries(state.resources).map(([address, r]) => [r.id, address]));
  return rows.flatMap((row) => {
    const address = addressOf.get(row.id);
    return address ? [{ ...row, owner: address }] : [];
  });
}

/** Rows that the plan changes; with `everyRow` (a plan that failed: usage explains why) all of them. */
export function capacityChanges(before: CapacityRow[], after: CapacityRow[], everyRow = false): CapacityChange[] {
  const key = (r: CapacityRow) => `${r.id}\u0000${r.measure}`;
  const was = new Map(before.map((r) => [key(r), r]));
  const now = new Map(after.map((r) => [key(r), r]));
  const changes: CapacityChange[] = [];
  for (const k of new Set([...was.keys(), ...now.keys()])) {
    const b = was.get(k);
    const a = now.get(k);
    if (!everyRow && b && a && b.used === a.used && b.total === a.total) continue;
    const row = (a ?? b)!;
    changes.push({
      id: row.id,
      owner: row.owner,
      measure: row.measure,
      unit: row.unit,
      before: b ? { used: b.used, total: b.total } : null,
      after: a ? { used: a.used, total: a.total } : null,
    });
  }
  return changes;
}

export function renderCapacityText(changes: CapacityChange[]): string {
  if (changes.length === 0) return "";
  const rows = changes.map((c) => [c.owner, c.measure, usage(c.before, c.unit), usage(c.after, c.unit)]);
  const width = [0, 1, 2].map((i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  const lines = ["Capacity (used / usable, before -> after):"];
  for (const r of rows) lines.push(`  ${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]!.padStart(width[2]!)}  ->  ${r[3]}`);
  return lines.join("\n") + "\n";
}

/** The same rows as a Markdown table, for the pull-request comment. */
export function capacityMarkdown(changes: CapacityChange[]): string[] {
  if (changes.length === 0) return [];
  const lines = ["**Capacity** (used / usable)", "", "| cluster or pool | measure | before | after |", "| --- | --- | --- | --- |"];
  for (const c of changes) lines.push(`| \`${c.owner}\` | ${c.measure} | ${usage(c.before, c.unit)} | ${usage(c.after, c.unit)} |`);
  lines.push("");
  return lines;
}

function usage(v: { used: number; total: number } | null, unit: string): string {
  if (!v) return "(none)";
  const percent = v.total > 0 ? ` (${Math.round((100 * v.used) / v.total)}%)` : "";
  return `${round(v.used)} / ${round(v.total)}${unit ? ` ${unit}` : ""}${percent}`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
