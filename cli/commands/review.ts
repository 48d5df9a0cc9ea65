// `virtform review`: the plan mapped to the source lines that cause each change, with risk findings.
// Against current state (the plan path of `plan`), or with --base against the program at a git ref
// (no backend: a pull request is reviewed in CI without credentials).
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Diagnostic } from "../../core/model.ts";
import { makePlan } from "../../engine/plan.ts";
import { LockContext } from "../../images/lock-context.ts";
import { checkoutBase, stateFromProgram, withoutProtect } from "../../review/base.ts";
import { buildReview } from "../../review/build.ts";
import { capacityChanges } from "../../engine/render/capacity.ts";
import { overcommitted, programCapacity } from "../../review/program-capacity.ts";
import { loadReviewConfig } from "../../review/config.ts";
import type { Finding, Review } from "../../review/model.ts";
import { typedChecks } from "../../review/typed-checks.ts";
import { programProject } from "../../review/typecheck.ts";
import { renderReviewGithub } from "../../review/render/github.ts";
import { reviewToJson } from "../../review/render/json.ts";
import { renderReviewMarkdown } from "../../review/render/markdown.ts";
import { reviewToSarif } from "../../review/render/sarif.ts";
import { SourceMapper } from "../../review/source-map.ts";
import { type ImageInputs } from "../../sdk/kinds/image.ts";
import { resolveVariant } from "../../images/variant.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";
import { recordCallers } from "../../sdk/source-location.ts";
import type { EvaluatedStack } from "../../sdk/evaluate.ts";
import { CliError } from "../cli-error.ts";
import { runProgram } from "../program-runner.ts";
import { planForReview, type RunOptions } from "./plan-apply.ts";
import { ImagesError } from "../../images/images-error.ts";

export const REVIEW_FORMATS = ["markdown", "json", "github", "sarif"] as const;

export interface ReviewCommandOptions extends RunOptions {
  base?: string;
  format?: string;
  out?: string;
  config?: string;
  /** Exit 1 when a finding of severity error is not ignored. */
  failOnError?: boolean;
}

export async function reviewCommand(program: string, options: ReviewCommandOptions): Promise<number> {
  const format = options.format ?? "markdown";
  if (!(REVIEW_FORMATS as readonly string[]).includes(format)) throw new CliError(`--format must be one of ${REVIEW_FORMATS.join(", ")}; got "${format}"`);
  let review: Review;
  try {
    const config = loadReviewConfig(program, options.config);
    recordCallers(true);
    review = options.base ? await reviewAgainstBase(program, options.base, config) : await reviewAgainstState(program, options, config);
    if (config.typedChecks) review.findings.push(...typedFindings(program));
  } finally {
    recordCallers(false);
  }
  const text = render(review, format);
  if (options.out) {
    writeFileSync(options.out, text);
    process.stdout.write(`Wrote the review (${format}) to ${options.out}\n`);
  } else process.stdout.write(text);
  const errors = [...review.findings, ...review.changes.flatMap((c) => c.findings)].some((f) => f.severity === "error" && !f.ignored);
  return options.failOnError && errors ? 1 : 0;
}

export function render(review: Review, format: string): string {
  if (format === "json") return JSON.stringify(reviewToJson(review), null, 2) + "\n";
  if (format === "sarif") return JSON.stringify(reviewToSarif(review), null, 2) + "\n";
  if (format === "github") return renderReviewGithub(review);
  return renderReviewMarkdown(review);
}

async function reviewAgainstState(program: string, options: RunOptions, config: ReturnType<typeof loadReviewConfig>): Promise<Review> {
  const evaluated = await runProgram(program, { locks: false }).catch(() => undefined);
  const { plan, capacity, problems, protectedInState, writtenBytes } = await planForReview(program, options);
  const mapper = new SourceMapper();
  mapper.addProgram(program);
  const protectedAddresses = new Set([...protectedInState, ...plan.changes.filter((c) => c.options?.protect).map((c) => c.address)]);
  return buildReview({
    mode: "plan",
    program,
    plan,
    kinds: kindInfo,
    protectedAddresses,
    capacity,
    infeasible: problems,
    writtenBytes,
    locks: evaluated ? lockProblems(program, evaluated) : [],
    capacityThreshold: config.capacityThreshold,
    config,
    mapper,
  });
}

async function reviewAgainstBase(program: string, ref: string, config: ReturnType<typeof loadReviewConfig>): Promise<Review> {
  const lockWarnings: Diagnostic[] = [];
  const head = await runProgram(program, { warnings: lockWarnings, live: false });
  const checkout = checkoutBase(program, ref);
  try {
    // A program the base does not have yet is new: everything in it is created.
    const base: EvaluatedStack = existsSync(checkout.program)
      ? await runProgram(checkout.program, { warnings: [], live: false }).catch((err: unknown) => {
          throw new CliError(`the program at ${ref} cannot be evaluated: ${(err as Error).message}`);
        })
      : { name: head.name, resources: [], outputs: {}, secretOutputs: [], diagnostics: [] };
    const state = stateFromProgram(base);
    const protectedAddresses = new Set([...head.resources, ...base.resources].filter((r) => r.options.protect).map((r) => r.address));
    const plan = makePlan(state, withoutProtect(head.resources), head.outputs, { kinds: kindInfo, secretOutputs: head.secretOutputs });
    // No backend to rehearse on: capacity is estimated from both programs.
    const after = programCapacity(head.resources);
    const capacity = capacityChanges(programCapacity(base.resources), after);
    const mapper = new SourceMapper();
    mapper.addProgram(program);
    mapper.addProgram(checkout.program);
    return buildReview({
      mode: "base",
      base: ref,
      program,
      plan,
      kinds: kindInfo,
      protectedAddresses,
      capacity,
      infeasible: overcommitted(after),
      locks: lockWarnings,
      capacityThreshold: config.capacityThreshold,
      config,
      mapper,
      baseDir: checkout.dir,
    });
  } finally {
    checkout.dispose();
  }
}

/** `check`'s typed checks as findings about the program, each at its place. */
function typedFindings(program: string): Finding[] {
  return typedChecks(programProject(program)).map((d) => ({
    rule: d.code,
    severity: "warning",
    message: d.message,
    ...(d.file && d.line && d.column ? { at: { file: d.file, line: d.line, column: d.column, endLine: d.line, endColumn: d.column } } : {}),
  }));
}

/** Missing and stale image locks, as the plan path would warn about them. */
function lockProblems(program: string, evaluated: EvaluatedStack): Diagnostic[] {
  const images = evaluated.resources.filter((r) => r.kind === "Image");
  if (images.length === 0) return [];
  let locks: LockContext;
  try {
    locks = new LockContext(resolve(program), program);
  } catch (err) {
    if (!(err instanceof ImagesError)) throw err;
    return [{ severity: "warning", message: err.message }];
  }
  const problems: Diagnostic[] = [];
  for (const image of images) {
    const inputs = image.inputs as unknown as ImageInputs;
    for (const variant of Object.keys(inputs.variants)) {
      const entry = locks.lookup(image.address, variant, resolveVariant(inputs, variant));
      if (!entry) {
        const why = locks.lock ? "is not locked or its lock entry is stale" : "is not locked (there is no virtform.lock)";
        problems.push({ severity: "warning", address: image.address, message: `${image.address}:${variant} ${why}: its packages are not pinned. Run 'virtform images lock ${program}'` });
      }
    }
  }
  return [...problems, ...locks.warnings];
}
