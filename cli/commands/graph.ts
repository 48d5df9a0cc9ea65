// virtform graph: the program's dependency graph as DOT (Graphviz) or Mermaid.
import { runProgram } from "../program-runner.ts";
import { CliError } from "../cli-error.ts";

export async function graphCommand(program: string, options: { format?: string }): Promise<number> {
  const format = options.format ?? "dot";
  if (format !== "dot" && format !== "mermaid") throw new CliError(`--format is dot or mermaid, not ${format}`);
  // Edges do not depend on which packages a variant resolves to: no lock or catalog is needed.
  const { resources, name } = await runProgram(program, { locks: false });
  const lines: string[] = [];
  if (format === "dot") {
    lines.push(`digraph "${name}" {`, "  rankdir=LR;", "  node [shape=box];");
    for (const r of resources) lines.push(`  "${r.address}" [label="${r.address}\\n${r.kind}"];`);
    for (const r of resources) for (const dep of r.dependsOn) lines.push(`  "${r.address}" -> "${dep}";`);
    lines.push("}");
  } else {
    const id = new Map(resources.map((r, i) => [r.address, `r${i}`]));
    lines.push("graph LR");
    for (const r of resources) lines.push(`  ${id.get(r.address)}["${r.address}"]`);
    for (const r of resources) for (const dep of r.dependsOn) if (id.has(dep)) lines.push(`  ${id.get(r.address)} --> ${id.get(dep)}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
