// The generated section of BENCHMARKS.md that `npm run bench` writes: machine facts, the command,
// and one table row per measure (ours, the peer's, the ratio, the target). Pure: bench/run.ts
// measures, this formats and splices.
import type { BenchResult, Row } from "./result.ts";

export const BEGIN = "<!-- npm run bench: generated section, rewritten by bench/run.ts; edit outside the markers -->";
export const END = "<!-- npm run bench: end of generated section -->";

export interface Facts {
  /** When the run started, ISO 8601. */
  date: string;
  commit: string;
  command: string;
  seconds: number;
  cores: number;
  cpuModel: string;
  loadBefore: number[];
  loadAfter: number[];
  node: string;
  terraform: string;
}

/** A benchmark that ran, or why it did not. */
export type Outcome = { name: string; result: BenchResult } | { name: string; skipped: string } | { name: string; failed: string };

export function renderSection(facts: Facts, outcomes: readonly Outcome[]): string {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  const lines = [
    BEGIN,
    "## Latest `npm run bench`",
    "",
    `\`${facts.command}\`, ${facts.date.slice(0, 16).replace("T", " ")} UTC at commit ${facts.commit}, ${Math.round(facts.seconds)} s in all.`,
    `Machine: ${facts.cores} cores (${facts.cpuModel}), load average ${load(facts.loadBefore)} before and ${load(facts.loadAfter)} after ` +
      `(1 / 5 / 15 min; other work on the machine slows every figure); Node ${facts.node}; ${facts.terraform}.`,
    "",
    "| benchmark | measure | ours | peer | ratio | target | met |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
  ];
  const notes: string[] = [];
  for (const outcome of outcomes) {
    if ("skipped" in outcome) lines.push(`| ${outcome.name} | not run: ${cellText(outcome.skipped)} | | | | | |`);
    else if ("failed" in outcome) lines.push(`| ${outcome.name} | failed: ${cellText(outcome.failed)} | | | | | |`);
    else {
      for (const row of outcome.result.rows) lines.push(rowLine(outcome.name, row));
      notes.push(`- ${outcome.name}: \`${outcome.result.command}\`${outcome.result.notes?.length ? `; ${outcome.result.notes.join("; ")}` : ""}`);
    }
  }
  if (notes.length > 0) lines.push("", "Each benchmark's own command (run alone, it prints its tables):", "", ...notes);
  lines.push(END);
  return lines.join("\n");
}

function rowLine(benchmark: string, row: Row): string {
  const peer = row.peer === undefined ? "" : `${number(row.peer)} ${row.unit} (${row.peerName ?? "peer"})`;
  const ratio = row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}x (${row.ratioMeaning ?? "ratio"})`;
  const met = row.met === undefined ? "" : row.met ? "yes" : "**no**";
  return `| ${benchmark} | ${cellText(row.what)} | ${number(row.ours)} ${row.unit} | ${peer} | ${ratio} | ${row.target ?? ""} | ${met} |`;
}

/** Three significant digits at most, thousands separated: 0.273, 12.4, 1,471; whole numbers as they are. */
export function number(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const digits = Number.isInteger(x) ? 0 : Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Text safe inside a Markdown table cell: one line, no column breaks. */
function cellText(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();
}

/** The document with its generated section replaced (or appended when it has none yet); the rest is kept byte for byte. */
export function spliceSection(document: string, section: string): string {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin >= 0 && end > begin) return document.slice(0, begin) + section + document.slice(end + END.length);
  if (begin >= 0 || end >= 0) throw new Error("BENCHMARKS.md has only one of the generated section's markers: restore the other or remove both");
  return `${document.replace(/\n*$/, "\n")}\n${section}\n`;
}
