// Terraform diagnostics: what the user sees, attached to an attribute (Terraform adds the resource
// address and the configuration's source line). A kind's field path becomes an attribute path through
// the shape, so "hosts.memoryGiB" points at hosts.memory_gib.
import type { Shape } from "./shape.ts";

export const SEVERITY = { ERROR: 1, WARNING: 2 } as const;

export type Step = { attribute_name: string } | { element_key_string: string } | { element_key_int: number };

export interface Diagnostic {
  severity: number;
  summary: string;
  detail: string;
  attribute?: { steps: Step[] };
}

export function error(summary: string, detail = "", steps?: Step[]): Diagnostic {
  return { severity: SEVERITY.ERROR, summary, detail, ...(steps && steps.length > 0 ? { attribute: { steps } } : {}) };
}

export function warning(summary: string, detail = "", steps?: Step[]): Diagnostic {
  return { ...error(summary, detail, steps), severity: SEVERITY.WARNING };
}

/** The attribute path of a field path; it stops at a dynamic value, whose insides Terraform does not type. */
export function attributePath(path: readonly PropertyKey[], shape: Shape): Step[] {
  const steps: Step[] = [];
  let at: Shape = shape;
  for (const part of path) {
    if (at.type === "object") {
      const entry = Object.entries(at.attributes).find(([, a]) => a.field === part);
      if (!entry) break;
      steps.push({ attribute_name: entry[0] });
      at = entry[1].shape;
    } else if (at.type === "list" && typeof part === "number") {
      steps.push({ element_key_int: part });
      at = at.element;
    } else if (at.type === "map") {
      steps.push({ element_key_string: String(part) });
      at = at.element;
    } else break;
  }
  return steps;
}

/** "hosts.memory_gib", "devices[0].size_gib": the path as Terraform's configuration spells it. */
export function formatSteps(steps: readonly Step[]): string {
  return steps.reduce<string>((acc, step) => {
    if ("attribute_name" in step) return acc ? `${acc}.${step.attribute_name}` : step.attribute_name;
    if ("element_key_int" in step) return `${acc}[${step.element_key_int}]`;
    return `${acc}[${JSON.stringify(step.element_key_string)}]`;
  }, "");
}
