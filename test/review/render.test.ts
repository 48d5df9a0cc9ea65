// The review's renderers: Markdown stays within GitHub's comment limit, saying what it left out;
// GitHub annotations escape what the workflow-command syntax would misread.
import { describe, expect, it } from "vitest";
import type { Review, ReviewedChange } from "../../review/model.ts";
import { renderReviewGithub } from "../../review/render/github.ts";
import { GITHUB_COMMENT_LIMIT, renderReviewMarkdown } from "../../review/render/markdown.ts";

const range = (line: number) => ({ file: "infra.ts", line, column: 3, endLine: line, endColumn: 40 });

function change(i: number): ReviewedChange {
  return {
    address: `volume.data-${i}`,
    kind: "Volume",
    action: "replace",
    reason: "pool forces replacement",
    fields: [{ path: "pool", before: "pool.fast", after: "pool.slow", behaviour: "replace", source: { range: range(i + 1), origin: "handle" } }],
    source: { call: range(i + 1), callers: [], loops: [] },
    findings: [{ rule: "data-loss", severity: "error", message: `volume.data-${i} is replaced: its data is deleted`, at: range(i + 1) }],
  };
}

const review = (n: number): Review => ({ mode: "base", base: "main", program: "infra.ts", changes: Array.from({ length: n }, (_, i) => change(i)), findings: [] });

describe("markdown", () => {
  it("shows every resource in the table and each one's details when they fit", () => {
    const text = renderReviewMarkdown(review(3));
    expect(text).toContain("compared with `main`: 3 replace. Findings: 3 errors, 0 warnings, 0 notes.");
    expect(text.match(/<details>/g)).toHaveLength(3);
    expect(text).toContain("| `pool` | \"pool.fast\" | \"pool.slow\" | `infra.ts:2:3` (handle) |");
  });

  it.each([
    [200, /_Details of \d+ more resources left out \(GitHub comment limit\)/],
    [2000, /_\d+ more rows left out \(GitHub comment limit\)/],
  ])("stays under the comment limit with %i resources and says what it left out", (n, leftOut) => {
    const text = renderReviewMarkdown(review(n));
    expect(text.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(text).toMatch(leftOut);
  });
});

describe("github", () => {
  it("escapes newlines, percent signs, colons and commas", () => {
    const r = review(1);
    r.changes[0]!.findings[0]!.message = "100% gone,\nfor good";
    r.changes[0]!.source!.call.file = "a,b:c.ts";
    const text = renderReviewGithub(r);
    expect(text).toContain("::error file=infra.ts,line=1,col=3,endLine=1,endColumn=40,title=virtform data-loss::100%25 gone,%0Afor good");
    expect(text).toContain("::notice file=a%2Cb%3Ac.ts,line=1");
  });
});
