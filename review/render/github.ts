// The review as GitHub workflow commands: one annotation per finding on the line that causes it,
// and a notice per change on its declaration. Spans in the base revision have no file in the
// pull request's tree: those annotations carry no file.
import type { Finding, Review, SourceRange } from "../model.ts";

const LEVEL = { error: "error", warning: "warning", note: "notice" } as const;

/** Workflow command escaping: data escapes % CR LF; property values also , and :. */
const data = (text: string) => text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const property = (text: string) => data(text).replace(/:/g, "%3A").replace(/,/g, "%2C");

function command(level: string, range: SourceRange | undefined, title: string, message: string): string {
  const props = [];
  if (range && !range.revision) {
    props.push(`file=${property(range.file)}`, `line=${range.line}`, `col=${range.column}`, `endLine=${range.endLine}`);
    if (range.endLine === range.line) props.push(`endColumn=${range.endColumn}`);
  }
  props.push(`title=${property(title)}`);
  return `::${level} ${props.join(",")}::${data(message)}`;
}

export function renderReviewGithub(review: Review): string {
  const lines: string[] = [];
  const finding = (f: Finding) => {
    if (f.ignored) return;
    lines.push(command(LEVEL[f.severity], f.at, `virtform ${f.rule}`, f.message));
  };
  for (const change of review.changes) {
    const fields = change.fields.map((f) => f.path).join(", ");
    lines.push(command("notice", change.source?.call, `virtform: ${change.action} ${change.address}`, `${change.reason}${fields ? ` (${fields})` : ""}`));
    change.findings.forEach(finding);
  }
  review.findings.forEach(finding);
  return lines.join("\n") + (lines.length ? "\n" : "");
}
