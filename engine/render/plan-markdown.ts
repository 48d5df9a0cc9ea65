// The plan as a pull-request comment: a summary table, then one collapsible section per change.
import { dataLoss, describeDataLoss } from "../data-loss.ts";
import { formatDiagnostic, formatSource, type Diagnostic, type KindInfo } from "../../core/model.ts";
import { summarize, type Plan } from "../plan.ts";
import type { Drift } from "../refresh.ts";
import { capacityMarkdown, type CapacityChange } from "./capacity.ts";
import { show } from "./plan-text.ts";
import { isSecretPath, secretPaths } from "../../core/secret-paths.ts";

const ICON: Record<string, string> = {
  create: "🟢 create",
  update: "🟡 update",
  "update-with-restart": "🟠 update (restart)",
  replace: "🔴 replace",
  delete: "🔴 delete",
};

export interface MarkdownExtras {
  capacity?: CapacityChange[];
  /** Warnings (e.g. --target in effect) and, for a plan that cannot be applied, its errors. */
  diagnostics?: Diagnostic[];
}

export function renderPlanMarkdown(plan: Plan, kinds: ReadonlyMap<string, KindInfo>, drift: Drift[] = [], extras: MarkdownExtras = {}): string {
  const s = summarize(plan);
  const lines = [`### virtform plan for stack \`${plan.stack}\``, ""];
  for (const d of extras.diagnostics ?? []) lines.push(`> ${d.severity === "error" ? "❌ **Error**" : "⚠️ **Warning**"}: ${formatDiagnostic(d)}`, "");
  const after = [...outputsMarkdown(plan), ...capacityMarkdown(extras.capacity ?? [])];
  lines.push(`**${s.create}** to create, **${s.update}** to update, **${s.replace}** to replace, **${s.delete}** to delete, ${s.unchanged} unchanged.`, "");
  if (drift.length > 0) {
    lines.push(`<details><summary>⚠️ ${drift.length} object(s) changed outside virtform</summary>`, "");
    for (const d of drift) lines.push(`- \`${d.address}\`: ${d.change === "deleted" ? "deleted" : d.change === "unhealthy" ? `unhealthy: ${d.reason}` : d.fields.map((f) => `\`${f.path}\``).join(", ")}`);
    lines.push("", "</details>", "");
  }
  const changes = plan.changes.filter((c) => c.action !== "noop");
  if (changes.length === 0) {
    lines.push("No changes.", "", ...after);
    return lines.join("\n") + "\n";
  }
  lines.push("| action | resource | why | declared at |", "| --- | --- | --- | --- |");
  for (const c of changes) {
    const loss = dataLoss(c, kinds.get(c.kind));
    const why = loss ? `${c.reasonText}; ⚠️ ${describeDataLoss(loss)}` : c.reasonText;
    lines.push(`| ${ICON[c.action]} | \`${c.address}\` | ${why} | ${c.source ? `\`${formatSource(c.source)}\`` : ""} |`);
  }
  lines.push("");
  for (const c of changes.filter((c) => c.fields.length > 0)) {
    const kind = secretPaths(kinds.get(c.kind), c.secretPaths);
    lines.push(`<details><summary><code>${c.address}</code>: ${c.fields.length} field(s)</summary>`, "", "```diff");
    for (const f of c.fields) {
      const secret = isSecretPath(f.path, kind);
      lines.push(`- ${f.path}: ${show(f.before, secret)}`, `+ ${f.path}: ${show(f.after, secret)}${f.behaviour === "replace" ? "  # forces replacement" : f.behaviour === "restart" ? "  # needs restart" : ""}`);
    }
    lines.push("```", "", "</details>", "");
  }
  lines.push(...after);
  return lines.join("\n");
}

function outputsMarkdown(plan: Plan): string[] {
  const changes = plan.outputChanges ?? [];
  if (changes.length === 0) return [];
  const lines = ["**Changes to outputs**", "", "```diff"];
  for (const c of changes) {
    if (c.action === "create") lines.push(`+ ${c.name} = ${show(c.after)}`);
    else if (c.action === "delete") lines.push(`- ${c.name} = ${show(c.before)}`);
    else lines.push(`- ${c.name} = ${show(c.before)}`, `+ ${c.name} = ${show(c.after)}`);
  }
  lines.push("```", "");
  return lines;
}
