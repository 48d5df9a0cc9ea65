// The review as a pull-request comment: a summary table, then each resource's details collapsed.
// GitHub refuses comments over 65,536 characters: details are left out from the end, with a line
// saying how many, and the table itself is cut if even it does not fit.
import type { Finding, Review, ReviewedChange, SourceRange } from "../model.ts";
import { countFindings, formatRange, formatValue } from "./text.ts";

export const GITHUB_COMMENT_LIMIT = 65_536;
const SYMBOL: Record<string, string> = { create: "+", update: "~", "update-with-restart": "~", replace: "-/+", delete: "-" };

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (text: string) => "`" + text.replace(/`/g, "'") + "`";
const at = (range: SourceRange | undefined) => (range ? code(formatRange(range)) : "");

export function renderReviewMarkdown(review: Review, limit = GITHUB_COMMENT_LIMIT): string {
  const header = headerLines(review);
  const table = tableLines(review.changes);
  const details = review.changes.map(detailBlock);
  const planLevel = review.findings.length > 0 ? ["", "**Findings about the plan as a whole**", "", ...review.findings.map(findingLine)] : [];
  const join = (parts: string[]) => parts.join("\n") + "\n";
  const budget = limit - 200; // room for the line saying what was left out
  let body = join([...header, ...planLevel, ...table]);
  if (body.length > budget) {
    // Even the table is too long: keep its first rows.
    const rows: string[] = [];
    for (const row of table) {
      if (join([...header, ...planLevel, ...rows, row]).length > budget) break;
      rows.push(row);
    }
    return join([...header, ...planLevel, ...rows, "", `_${table.length - rows.length} more rows left out (GitHub comment limit); see \`virtform review --format json\` for the whole review._`]);
  }
  let shown = 0;
  for (const block of details) {
    if (body.length + block.length + 1 > budget) break;
    body += "\n" + block;
    shown++;
  }
  if (shown < details.length) body += `\n_Details of ${details.length - shown} more resources left out (GitHub comment limit); see \`virtform review --format json\`._\n`;
  return body;
}

function headerLines(review: Review): string[] {
  const counts = new Map<string, number>();
  for (const c of review.changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const plan = review.changes.length === 0 ? "no changes" : [...counts].map(([action, n]) => `${n} ${action}`).join(", ");
  const f = countFindings(review);
  const against = review.mode === "base" ? `compared with ${code(review.base ?? "")}` : "planned against current state";
  return [
    `## virtform review: ${code(review.program)}`,
    "",
    `${against}: ${plan}. Findings: ${f.error} error${f.error === 1 ? "" : "s"}, ${f.warning} warning${f.warning === 1 ? "" : "s"}, ${f.note} note${f.note === 1 ? "" : "s"}${f.ignored ? ` (${f.ignored} ignored)` : ""}.`,
  ];
}

function tableLines(changes: ReviewedChange[]): string[] {
  if (changes.length === 0) return [];
  const rows = changes.map((c) => {
    const active = c.findings.filter((f) => !f.ignored);
    const rules = [...new Set(active.map((f) => `${f.severity} ${f.rule}`))].join(", ");
    return `| ${SYMBOL[c.action] ?? ""} | ${code(c.address)} | ${c.action} | ${at(c.source?.call)} | ${cell(rules)} |`;
  });
  return ["", "| | Resource | Action | Source | Findings |", "|---|---|---|---|---|", ...rows];
}

function detailBlock(change: ReviewedChange): string {
  const lines = [`<details><summary>${SYMBOL[change.action] ?? ""} <code>${change.address}</code>: ${change.action} (${escapeHtml(change.reason)})</summary>`, ""];
  if (change.source) {
    const via = change.source.callers.length > 0 ? `, called from ${change.source.callers.map(at).join(", ")}` : "";
    const loops = change.source.loops.length > 0 ? `, in the loop at ${change.source.loops.map(at).join(", ")}` : "";
    lines.push(`Declared at ${at(change.source.call)}${via}${loops}.`, "");
  }
  if (change.fields.length > 0) {
    lines.push("| Field | Before | After | Set at |", "|---|---|---|---|");
    for (const f of change.fields) {
      const where = f.source ? `${at(f.source.range)} (${f.source.origin})` : "";
      lines.push(`| ${code(f.path)} | ${cell(formatValue(f.before))} | ${cell(formatValue(f.after))} | ${where} |`);
    }
    lines.push("");
  }
  for (const f of change.findings) lines.push(findingLine(f));
  lines.push("", "</details>");
  return lines.join("\n");
}

function findingLine(f: Finding): string {
  const where = f.at ? ` (${at(f.at)})` : "";
  if (f.ignored) return `- ~~${f.severity} ${f.rule}~~: ${f.message}${where}. Ignored: ${f.ignored.reason}`;
  return `- **${f.severity}** ${f.rule}: ${f.message}${where}`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
