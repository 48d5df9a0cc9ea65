// The review's config file, virtform-review.json beside the program: which rules run, at which
// severity, and the capacity threshold. Absent file: every rule on at its own severity.
import { VirtformError } from "../core/virtform-error.ts";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { formatPath } from "../sdk/evaluate.ts";
import { ruleIds } from "./rules.ts";

export const CONFIG_FILE = "virtform-review.json";

const severity = z.enum(["error", "warning", "note"]);
export const reviewConfigSchema = z
  .object({
    /** false turns a rule off; a severity changes its level. */
    rules: z
      .record(z.string(), z.union([z.boolean(), severity]))
      .refine((r) => Object.keys(r).every((id) => ruleIds.includes(id)), { message: `unknown rule id; rules: ${ruleIds.join(", ")}` })
      .default({}),
    capacityThreshold: z.number().gt(0).lte(1).default(0.85).describe("Used / usable above which a cluster or pool is reported"),
    /** Also run check's typed checks (the type checker costs a second or two). */
    typedChecks: z.boolean().default(false),
  })
  .strict();

export type ReviewConfig = z.output<typeof reviewConfigSchema>;

export class ReviewConfigError extends VirtformError<"config-invalid"> {
  readonly layer = "review";

  constructor(message: string) {
    super("config-invalid", message);
  }
}

/** The config at `path`, or virtform-review.json beside the program, or the defaults. */
export function loadReviewConfig(program: string, path?: string): ReviewConfig {
  const file = path ? resolve(path) : join(dirname(resolve(program)), CONFIG_FILE);
  if (!existsSync(file)) {
    if (path) throw new ReviewConfigError(`review config ${path} not found`);
    return reviewConfigSchema.parse({});
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ReviewConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = reviewConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ReviewConfigError(`${file}: ${formatPath(issue.path) || "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}
