// Pulumi component resources are no engine resources: they group the resources created under them.
// The plan lists each component with the resources it holds, and the graph draws it as a box
// (subgraph) around them; nested components nest.

export interface ComponentNode {
  /** "shop (acme:Shop)"; "" for the root. */
  label: string;
  resources: string[];
  children: ComponentNode[];
}

/** The tree of components from each resource's chain of parents (innermost first). */
export function componentTree(parents: Record<string, string[]>): ComponentNode {
  const root: ComponentNode = { label: "", resources: [], children: [] };
  for (const [address, chain] of Object.entries(parents)) {
    let node = root;
    for (const label of [...chain].reverse()) {
      let child = node.children.find((c) => c.label === label);
      if (!child) node.children.push((child = { label, resources: [], children: [] }));
      node = child;
    }
    node.resources.push(address);
  }
  return root;
}

/** The plan's "Components" section; empty when the program has none. */
export function renderComponentsText(parents: Record<string, string[]>): string {
  const root = componentTree(parents);
  if (root.children.length === 0) return "";
  const lines = ["Components (Pulumi component resources and the resources under them):"];
  const walk = (node: ComponentNode, depth: number) => {
    const indent = "  ".repeat(depth);
    lines.push(`${indent}${node.label}`);
    if (node.resources.length > 0) lines.push(`${indent}  ${node.resources.join(", ")}`);
    for (const child of node.children) walk(child, depth + 1);
  };
  for (const child of root.children) walk(child, 1);
  return lines.join("\n") + "\n\n";
}
