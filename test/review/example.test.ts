// examples/review: the review of the example's risky change matches the committed golden files.
// One review runs through the binary (JSON); Markdown and SARIF are rendered from it in process.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GOLDEN_FORMATS, makeHistory } from "../../examples/review/make-history.ts";
import type { Review } from "../../review/model.ts";
import { renderReviewMarkdown } from "../../review/render/markdown.ts";
import { reviewToSarif } from "../../review/render/sarif.ts";
import { makeWorkdir, repoRoot, runCli } from "../helpers/cli.ts";

const golden = (file: string) => readFileSync(join(repoRoot, "examples", "review", "golden", file), "utf8");
let json: string;

beforeAll(async () => {
  const dir = makeWorkdir("virtform-review-example-");
  makeHistory(dir);
  const result = await runCli(dir, ["review", "--base", "HEAD", "--format", "json"]);
  expect(result).toMatchObject({ code: 0, stderr: "" });
  json = result.stdout;
}, 30_000);

describe("examples/review", () => {
  it("JSON matches the golden file", () => {
    expect(json).toBe(golden(GOLDEN_FORMATS.json));
  });

  it("Markdown and SARIF match the golden files", () => {
    const { format_version: _v, summary: _s, rules: _r, ...review } = JSON.parse(json) as Review & Record<string, unknown>;
    expect(renderReviewMarkdown(review)).toBe(golden(GOLDEN_FORMATS.markdown));
    expect(JSON.stringify(reviewToSarif(review), null, 2) + "\n").toBe(golden(GOLDEN_FORMATS.sarif));
  });

  it("finds what the change risks: the replaced volume, the scale-down, the unpinned package, the ignored rule", () => {
    const review = JSON.parse(json) as Review;
    const rules = (address: string) => review.changes.find((c) => c.address === address)?.findings.map((f) => (f.ignored ? `${f.rule} (ignored: ${f.ignored.reason})` : f.rule));
    expect(rules("volume.orders")).toEqual(["data-loss", "protection"]);
    expect(rules("instances.web/storefront[2]")).toEqual(["data-loss", "downtime"]);
    expect(rules("image.appserver")).toEqual(["supply-chain", "supply-chain"]);
    expect(rules("volume.archive")).toEqual(["protection (ignored: archive copies are rebuilt from orders)"]);
  });
});
