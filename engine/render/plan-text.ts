// The plan as people read it in a terminal: Terraform's symbols, one line per changed field with
// before -> after, and the reason for every replacement.
import { styleText } from "node:util";
import { formatSource, isUnknown, type KindInfo, type Value } from "../model.ts";
import { summarize, type Plan, type ResourceChange } from "../plan.ts";
import type { Drift } from "../refresh.ts";
import { isSecretPath, REDACTED } from "./redact.ts";

type Color = Parameters<typeof styleText>[0];

const SYMBOL: Record<ResourceChange["action"], { symbol: string; color: Color; verb: string }> = {
  noop: { symbol: " ", color: "gray", verb: "unchanged" },
  create: { symbol: "+", color: "green", verb: "will be created" },
  update: { symbol: "~", color: "yellow", verb: "will be updated in place" },
  "update-with-restart": { symbol: "~", color: "yellow", verb: "will be updated in place, with a restart" },
  replace: { symbol: "-/+", color: "magenta", verb: "will be replaced" },
  delete: { symbol: "-", color: "red", verb: "will be deleted" },
};

export interface TextOptions {
  kinds: ReadonlyMap<string, KindInfo>;
  color?: boolean;
}

export function renderPlanText(plan: Plan, options: TextOptions): string {
  const paint = (color: Color, text: string) => (options.color ? styleText(color, text, { validateStream: false }) : text);
  const lines: string[] = [];
  const changes = plan.changes.filter((c) => c.action !== "noop");
  if (changes.length === 0) {
    lines.push(`No changes. Stack ${plan.stack} matches the program.`);
    return lines.join("\n");
  }
  lines.push(`Stack ${plan.stack}: virtform will perform these actions:`, "");
  for (const change of changes) {
    const style = SYMBOL[change.action];
    const kind = options.kinds.get(change.kind);
    const deposed = change.deposedId ? ` (deposed object ${change.deposedId})` : "";
    const where = change.source ? paint("gray", `  # ${formatSource(change.source)}`) : "";
    lines.push(`  ${paint(style.color, style.symbol)} ${paint("bold", change.address)}${deposed} ${style.verb}${where}`);
    if (change.action !== "create") lines.push(paint("gray", `      # ${change.reasonText}`));
    if (change.action === "create") {
      for (const [path, value] of flatten(change.after ?? {})) {
        lines.push(`      ${paint("green", "+")} ${path} = ${show(value, isSecretPath(path, kind))}`);
      }
    } else {
      for (const field of change.fields) {
        const secret = isSecretPath(field.path, kind);
        const note = field.behaviour === "replace" ? " (forces replacement)" : field.behaviour === "restart" ? " (needs restart)" : "";
        lines.push(
          `      ${paint("yellow", "~")} ${field.path}: ${show(field.before, secret)} -> ${show(field.after, secret)}${paint(field.behaviour === "replace" ? "red" : "gray", note)}`,
        );
      }
    }
    lines.push("");
  }
  const s = summarize(plan);
  lines.push(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete` +
      (s.unchanged > 0 ? `; ${s.unchanged} unchanged.` : "."),
  );
  return lines.join("\n");
}

/** Leaves of an object as "a.b" paths; arrays stay whole. */
function flatten(value: Record<string, Value>, prefix = ""): [string, Value][] {
  return Object.entries(value).flatMap(([key, item]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof item === "object" && item !== null && !Array.isArray(item) && !isUnknown(item) && Object.keys(item).length > 0) {
      return flatten(item, path);
    }
    return [[path, item] as [string, Value]];
  });
}

/** Changes made outside virtform since the last apply, shown before the plan's actions. */
export function renderDriftText(drift: Drift[], color = false): string {
  if (drift.length === 0) return "";
  const paint = (c: Color, text: string) => (color ? styleText(c, text, { validateStream: false }) : text);
  const lines = ["Objects changed outside virtform since the last apply:", ""];
  for (const d of drift) {
    if (d.change === "deleted") {
      lines.push(`  ${paint("red", "-")} ${d.address} was deleted outside virtform`);
      continue;
    }
    lines.push(`  ${paint("yellow", "~")} ${d.address} was changed outside virtform`);
    for (const f of d.fields) lines.push(`      ~ ${f.path}: ${show(f.before)} -> ${show(f.after)}`);
  }
  lines.push("");
  return lines.join("\n") + "\n";
}

export function show(value: Value | undefined, secret = false): string {
  if (value === undefined) return "(none)";
  if (secret) return REDACTED;
  if (isUnknown(value)) return "(known after apply)";
  return JSON.stringify(value, (_k, v: unknown) => (isUnknown(v) ? "(known after apply)" : v));
}
