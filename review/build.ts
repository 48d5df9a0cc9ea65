// Assembles a review: each planned change with its field diffs, where in the source it comes from,
// and the findings of the enabled rules, located at the field that causes them and silenced by
// ignore comments that give a reason.
import { relative, resolve, sep } from "node:path";
import { isUnknown, type SourceLocation, type Value } from "../core/model.ts";
import type { ResourceChange } from "../engine/plan.ts";
import { isSecretPath, REDACTED } from "../core/secret-paths.ts";
import { secretPathsOf } from "../sdk/kinds/index.ts";
import type { ReviewConfig } from "./config.ts";
import type { FieldDiff, Finding, Review, ReviewedChange, Severity, SourceRange } from "./model.ts";
import { rules, ruleIds, type RawFinding, type RuleContext } from "./rules.ts";
import type { SourceMapper } from "./source-map.ts";

export const KNOWN_AFTER_APPLY = "(known after apply)";

export interface ReviewInput extends RuleContext {
  mode: Review["mode"];
  base?: string;
  program: string;
  config: ReviewConfig;
  mapper: SourceMapper;
  /** In a --base review, where the base program was extracted: its spans are shown as REF:path. */
  baseDir?: string;
  /** Where relative file names in spans are resolved (the working directory). */
  root?: string;
}

/** A rule's finding with the rule's id and the severity the config settles on. */
type RuleFinding = RawFinding & { rule: string; severity: Severity };

export function buildReview(input: ReviewInput): Review {
  const raw = new Map<string, RuleFinding[]>();
  const planFindings: Finding[] = [];
  for (const rule of rules) {
    const setting = input.config.rules[rule.id];
    if (setting === false) continue;
    const severity = typeof setting === "string" ? setting : undefined;
    for (const f of rule.check(input)) {
      const finding: RuleFinding = { ...f, rule: rule.id, severity: severity ?? f.severity ?? rule.severity };
      if (f.address) raw.set(f.address, [...(raw.get(f.address) ?? []), finding]);
      else planFindings.push({ rule: rule.id, severity: finding.severity, message: f.message });
    }
  }
  const changes: ReviewedChange[] = [];
  const seen = new Set<string>();
  for (const change of input.plan.changes) {
    if (change.action === "noop") continue;
    const key = change.deposedId ? `${change.address} (deposed)` : change.address;
    // A resource whose kind changed has two changes (delete, create): its findings go with the first.
    const findings = seen.has(change.address) ? [] : (raw.get(change.address) ?? []);
    seen.add(change.address);
    changes.push(reviewChange(change, key, findings, input));
  }
  // Findings about resources the plan leaves unchanged (an infeasible plan names them too).
  for (const [address, found] of raw) {
    if (!seen.has(address)) for (const f of found) planFindings.push({ rule: f.rule, severity: f.severity, message: f.message });
  }
  return { mode: input.mode, ...(input.base ? { base: input.base } : {}), program: input.program, changes, findings: planFindings };
}

function reviewChange(change: ResourceChange, address: string, raw: RuleFinding[], input: ReviewInput): ReviewedChange {
  // A Pulumi program's run records no positions: its `new Kind("name", ...)` is found by name.
  const location = change.source ?? input.mapper.locateByName(change.kind, change.address.slice(change.address.indexOf(".") + 1));
  const fix = (range: SourceRange | undefined) => (range ? inRevision(range, input) : undefined);
  const source = location ? input.mapper.resource(location) : undefined;
  const secrets = secretPathsOf(change.kind, change.secretPaths);
  const fields: FieldDiff[] = change.fields.map((f) => {
    const secret = isSecretPath(f.path, secrets);
    const fieldSource = location ? input.mapper.field(location, f.path) : undefined;
    return {
      path: f.path,
      before: secret && f.before !== undefined ? REDACTED : shown(f.before),
      after: secret && f.after !== undefined ? REDACTED : shown(f.after),
      behaviour: f.behaviour,
      ...(fieldSource ? { source: { ...fieldSource, range: fix(fieldSource.range)! } } : {}),
    };
  });
  const ignores = location ? input.mapper.ignores(location) : [];
  const findings: Finding[] = [];
  for (const f of raw) {
    const at = fix(locate(f, location, input));
    const finding: Finding = { rule: f.rule, severity: f.severity, message: f.message, ...(at ? { at } : {}) };
    const ignore = ignores.find((i) => i.rule === f.rule);
    if (ignore && ignore.reason) finding.ignored = { reason: ignore.reason, at: fix(ignore.at)! };
    findings.push(finding);
  }
  for (const ignore of ignores) {
    if (!ruleIds.includes(ignore.rule)) {
      findings.push({ rule: "review-ignore", severity: "warning", message: `ignore comment names no rule "${ignore.rule}"; rules: ${ruleIds.join(", ")}`, at: fix(ignore.at)! });
    } else if (!ignore.reason) {
      findings.push({ rule: "review-ignore", severity: "error", message: `virtform-review-ignore ${ignore.rule} needs a reason after the rule id; the finding stays`, at: fix(ignore.at)! });
    }
  }
  return {
    address,
    kind: change.kind,
    action: change.action,
    reason: change.reasonText,
    fields,
    ...(source ? { source: { call: fix(source.call)!, callers: source.callers.map((c) => fix(c)!), loops: source.loops.map((l) => fix(l)!) } } : {}),
    findings,
  };
}

function locate(finding: RawFinding, location: SourceLocation | undefined, input: ReviewInput): SourceRange | undefined {
  if (!location) return undefined;
  if (finding.path) return input.mapper.field(location, finding.path)?.range;
  return input.mapper.resource(location)?.call;
}

function shown(value: Value | undefined): Value | undefined {
  if (isUnknown(value)) return KNOWN_AFTER_APPLY;
  return value;
}

/** A span in the extracted base program reads as REF's own path, marked with the revision. */
function inRevision(range: SourceRange, input: ReviewInput): SourceRange {
  if (!input.baseDir) return range;
  const absolute = resolve(input.root ?? process.cwd(), range.file);
  if (!absolute.startsWith(input.baseDir + sep)) return range;
  return { ...range, file: relative(input.baseDir, absolute), revision: input.base! };
}
