// The plan as a pull-request comment: a summary table, then one collapsible section per change.
import { formatSource, type KindInfo } from "../model.ts";
import { summarize, type Plan } from "../plan.ts";
import type { Drift } from "../refresh.ts";
import { show } from "./plan-text.ts";
import { isSecretPath, secretPaths } from "./redact.ts";

const ICON: Record<string, string> = {
  create: "🟢 create",
  update: "🟡 update",
  "update-with-restart": "🟠 update (restart)",
  replace: "🔴 replace",
  delete: "🔴 delete",
};

export function renderPlanMarkdown(plan: Plan, kinds: ReadonlyMap<string, KindInfo>, drift: Drift[] = []): string {
  const s = summarize(plan);
  const lines = [`### virtform plan for stack \`${plan.stack}\``, ""];
  lines.push(`**${s.create}** to create, **${s.update}** to update, **${s.replace}** to replace, **${s.delete}** to delete, ${s.unchanged} unchanged.`, "");
  if (drift.length > 0) {
    lines.push(`<details><summary>⚠️ ${drift.length} object(s) changed outside virtform</summary>`, "");
    for (const d of drift) lines.push(`- \`${d.address}\`: ${d.change === "deleted" ? "deleted" : d.change === "unhealthy" ? `unhealthy: ${d.reason}` : d.fields.map((f) => `\`${f.path}\``).join(", ")}`);
    lines.push("", "</details>", "");
  }
  const changes = plan.changes.filter((c) => c.action !== "noop");
  if (changes.length === 0) {
    lines.push("No changes.");
    return lines.join("\n") + "\n";
  }
  lines.push("| action | resource | why | declared at |", "| --- | --- | --- | --- |");
  for (const c of changes) {
    lines.push(`| ${ICON[c.action]} | \`${c.address}\` | ${c.reasonText} | ${c.source ? `\`${formatSource(c.source)}\`` : ""} |`);
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
  return lines.join("\n");
}
