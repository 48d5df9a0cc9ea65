// The plan's capacity section: used of usable per cluster and pool, before and after the plan, for
// what the plan changes.
import type { CapacityRow } from "../provider.ts";

export interface CapacityChange {
  owner: string;
  measure: string;
  unit: string;
  before: { used: number; total: number } | null;
  after: { used: number; total: number } | null;
}

export function capacityChanges(before: CapacityRow[], after: CapacityRow[]): CapacityChange[] {
  const key = (r: CapacityRow) => `${r.owner}\u0000${r.measure}`;
  const was = new Map(before.map((r) => [key(r), r]));
  const now = new Map(after.map((r) => [key(r), r]));
  const changes: CapacityChange[] = [];
  for (const k of new Set([...was.keys(), ...now.keys()])) {
    const b = was.get(k);
    const a = now.get(k);
    if (b && a && b.used === a.used && b.total === a.total) continue;
    const row = (a ?? b)!;
    changes.push({
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
  const fmt = (v: { used: number; total: number } | null, unit: string) =>
    v ? `${round(v.used)} / ${round(v.total)}${unit ? ` ${unit}` : ""}${v.total > 0 ? ` (${Math.round((100 * v.used) / v.total)}%)` : ""}` : "(none)";
  const rows = changes.map((c) => [c.owner, c.measure, fmt(c.before, c.unit), fmt(c.after, c.unit)]);
  const width = [0, 1, 2].map((i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  const lines = ["Capacity (used / usable, before -> after):"];
  for (const r of rows) lines.push(`  ${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]!.padStart(width[2]!)}  ->  ${r[3]}`);
  return lines.join("\n") + "\n";
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
