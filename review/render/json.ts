// The review for tools: the Review itself, versioned like the plan JSON, with the rules that ran.
import type { Review } from "../model.ts";
import { rules } from "../rules.ts";
import { countFindings } from "./text.ts";

export const REVIEW_FORMAT_VERSION = "1.0";

export function reviewToJson(review: Review): unknown {
  return {
    format_version: REVIEW_FORMAT_VERSION,
    ...review,
    summary: countFindings(review),
    rules: rules.map((r) => ({ id: r.id, severity: r.severity, title: r.title, explanation: r.explanation })),
  };
}
