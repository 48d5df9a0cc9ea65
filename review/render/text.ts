// Small formatting shared by the review's renderers.
import type { Value } from "../../core/model.ts";
import type { Review, SourceRange } from "../model.ts";

export function formatRange(range: SourceRange): string {
  return `${range.revision ? `${range.revision}:` : ""}${range.file}:${range.line}:${range.column}`;
}

export function formatValue(value: Value | undefined): string {
  if (value === undefined) return "(none)";
  return typeof value === "string" && value.startsWith("(") ? value : JSON.stringify(value);
}

export function countFindings(review: Review): { error: number; warning: number; note: number; ignored: number } {
  const counts = { error: 0, warning: 0, note: 0, ignored: 0 };
  for (const f of [...review.findings, ...review.changes.flatMap((c) => c.findings)]) {
    if (f.ignored) counts.ignored++;
    else counts[f.severity]++;
  }
  return counts;
}
