// Dependency graph of addresses. Kahn's algorithm gives a deterministic order; when it stalls, a
// depth-first walk over what is left names one cycle exactly, so the error can say "a -> b -> a".
import { VirtformError } from "../core/virtform-error.ts";

export interface GraphNode {
  address: string;
  dependsOn: readonly string[];
}

export class CycleError extends VirtformError<"dependency-cycle"> {
  readonly layer = "engine";
  readonly cycle: string[];

  constructor(cycle: string[]) {
    super("dependency-cycle", `dependency cycle: ${cycle.join(" -> ")}`);
    this.cycle = cycle;
  }
}

/** Addresses in an order where each comes after everything it depends on (unknown deps ignored). */
export function topologicalOrder(nodes: readonly GraphNode[]): string[] {
  const known = new Map(nodes.map((n) => [n.address, n]));
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    const deps = (node.dependsOn.length > 1 ? [...new Set(node.dependsOn)] : node.dependsOn).filter((d) => known.has(d));
    remaining.set(node.address, deps.length);
    for (const dep of deps) {
      const list = dependents.get(dep) ?? [];
      list.push(node.address);
      dependents.set(dep, list);
    }
  }
  const ready = nodes.filter((n) => remaining.get(n.address) === 0).map((n) => n.address);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const address = ready[i]!;
    order.push(address);
    for (const dependent of dependents.get(address) ?? []) {
      const left = remaining.get(dependent)! - 1;
      remaining.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  if (order.length < nodes.length) {
    const stuck = nodes.filter((n) => remaining.get(n.address)! > 0);
    throw new CycleError(findCycle(stuck, known));
  }
  return order;
}

function findCycle(stuck: readonly GraphNode[], known: Map<string, GraphNode>): string[] {
  const stuckSet = new Set(stuck.map((n) => n.address));
  const visiting: string[] = [];
  const done = new Set<string>();
  const visit = (address: string): string[] | undefined => {
    const at = visiting.indexOf(address);
    if (at >= 0) return [...visiting.slice(at), address];
    if (done.has(address)) return undefined;
    visiting.push(address);
    for (const dep of known.get(address)?.dependsOn ?? []) {
      if (!stuckSet.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    visiting.pop();
    done.add(address);
    return undefined;
  };
  for (const node of stuck) {
    const cycle = visit(node.address);
    if (cycle) return cycle;
  }
  return stuck.map((n) => n.address); // unreachable: a stalled Kahn walk always holds a cycle
}
