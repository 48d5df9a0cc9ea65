// What a review says: each planned change with where in the source it comes from and what risks it
// carries. Renderers (Markdown, JSON, GitHub annotations, SARIF) read only these types.
import type { Action } from "../engine/plan-resource.ts";
import type { Value } from "../core/model.ts";

/** A span of the program, 1-based lines and columns; `end` is exclusive. */
export interface SourceRange {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Set when the span is in the program at a git ref (a resource the change removes), not in the working tree. */
  revision?: string;
}

/** Where a resource comes from: the declaring call, the calls that led to it, the loops around them. */
export interface ResourceSource {
  call: SourceRange;
  /** Calls of helper functions that led to the declaring call, innermost first. */
  callers: SourceRange[];
  /** Loops (for, while, .map/.forEach callbacks) around the call or its callers, innermost first. */
  loops: SourceRange[];
}

/**
 * How a field is set: by a literal, a constant holding one, a spread of either, the handle the
 * declaring method was called on (a volume's pool), an expression computed at run time, or nowhere
 * in the source (a default), when the location is the declaration.
 */
export type FieldOrigin = "literal" | "constant" | "spread" | "handle" | "computed" | "declaration";

export interface FieldSource {
  range: SourceRange;
  origin: FieldOrigin;
}

export type Severity = "error" | "warning" | "note";

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  /** Where to point: the field that causes it if known, else the declaration. */
  at?: SourceRange;
  /** Set when an ignore comment silences it: the finding is shown as ignored, with the reason. */
  ignored?: { reason: string; at: SourceRange };
}

export interface FieldDiff {
  path: string;
  before: Value | undefined;
  after: Value | undefined;
  behaviour?: string;
  source?: FieldSource;
}

export interface ReviewedChange {
  address: string;
  kind: string;
  action: Action;
  reason: string;
  fields: FieldDiff[];
  source?: ResourceSource;
  findings: Finding[];
}

export interface Review {
  /** "plan" (against state) or "base" (against the program at a git ref). */
  mode: "plan" | "base";
  base?: string;
  program: string;
  changes: ReviewedChange[];
  /** Findings about the plan as a whole (capacity, an infeasible plan, locks). */
  findings: Finding[];
}
