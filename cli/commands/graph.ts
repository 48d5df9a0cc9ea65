// virtform graph: the program's dependency graph as DOT (Graphviz) or Mermaid. A Pulumi program's
// component resources are drawn as boxes around the resources under them.
import { runProgram } from "../program-runner.ts";
import { CliError } from "../cli-error.ts";
import { componentTree, type ComponentNode } from "../pulumi/components.ts";
import type { Deferred } from "../pulumi/deferred.ts";
import { pulumiProjectDir } from "../pulumi/project.ts";
import { loadPulumi } from "../pulumi/load-lazily.ts";

export async function graphCommand(program: string, options: { format?: string; pulumi?: string | boolean; stack?: string }): Promise<number> {
  const format = options.format ?? "dot";
  if (format !== "dot" && format !== "mermaid") throw new CliError(`--format is dot or mermaid, not ${format}`);
  // Edges do not depend on which packages a variant resolves to: no lock or catalog is needed.
  const pulumiDir = pulumiProjectDir(program, options.pulumi);
  const loaded = pulumiDir ? await loadPulumi(pulumiDir, options) : await runProgram(program, { locks: false });
  const { name } = loaded;
  // A Pulumi program's deferred resources (inputs computed from outputs not applied yet) are drawn
  // dashed, with edges to what they are computed from and wait for.
  const deferred: readonly Deferred[] = "deferred" in loaded ? (loaded.deferred as Deferred[]) : [];
  const resources = [
    ...loaded.resources.map((r) => ({ address: r.address, kind: r.kind, dependsOn: r.dependsOn, later: false })),
    ...deferred.map((d) => ({ address: d.address, kind: d.kind, dependsOn: [...new Set([...d.unknown.flatMap((u) => u.from), ...d.waitsFor])], later: true })),
  ];
  const tree = componentTree("parents" in loaded ? (loaded.parents as Record<string, string[]>) : {});
  const lines: string[] = [];
  let boxes = 0;
  if (format === "dot") {
    lines.push(`digraph "${name}" {`, "  rankdir=LR;", "  node [shape=box];");
    for (const r of resources) lines.push(`  "${r.address}" [label="${r.address}\\n${r.kind}${r.later ? " (known after apply)" : ""}"${r.later ? ", style=dashed" : ""}];`);
    const box = (node: ComponentNode, indent: string) => {
      lines.push(`${indent}subgraph cluster_${boxes++} {`, `${indent}  label="${node.label.replaceAll('"', '\\"')}";`);
      for (const address of node.resources) lines.push(`${indent}  "${address}";`);
      for (const child of node.children) box(child, `${indent}  `);
      lines.push(`${indent}}`);
    };
    for (const child of tree.children) box(child, "  ");
    for (const r of resources) for (const dep of r.dependsOn) lines.push(`  "${r.address}" -> "${dep}"${r.later ? " [style=dashed]" : ""};`);
    lines.push("}");
  } else {
    const id = new Map(resources.map((r, i) => [r.address, `r${i}`]));
    lines.push("graph LR");
    for (const r of resources) lines.push(`  ${id.get(r.address)}["${r.address}${r.later ? " (known after apply)" : ""}"]`);
    const box = (node: ComponentNode, indent: string) => {
      lines.push(`${indent}subgraph c${boxes++}["${node.label.replaceAll('"', "'")}"]`);
      for (const address of node.resources) if (id.has(address)) lines.push(`${indent}  ${id.get(address)}`);
      for (const child of node.children) box(child, `${indent}  `);
      lines.push(`${indent}end`);
    };
    for (const child of tree.children) box(child, "  ");
    for (const r of resources) for (const dep of r.dependsOn) if (id.has(dep)) lines.push(`  ${id.get(r.address)} ${r.later ? "-.->" : "-->"} ${id.get(dep)}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
