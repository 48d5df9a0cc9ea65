// What a DSL call records: the raw arguments (which may hold Outputs and image variants), explicit
// dependencies, options and the line it came from. Validation happens once the program has run, so
// that every error is reported at once.
import type { Diagnostic, LifecycleOptions, SourceLocation } from "../engine/model.ts";
import type { Kind } from "./kinds/kind.ts";
import type { StackOwner } from "./stack-owner.ts";

export interface ResourceOptions {
  /** Resources this one must come after, beyond those its inputs reference. */
  dependsOn?: Dependable | Dependable[];
  /** Refuse plans that would delete or replace this resource. */
  protect?: boolean;
  /** Input paths whose changes are not planned, e.g. ["sizeGiB"] or ["hosts.count"]. */
  ignoreChanges?: string[];
  /** Input paths whose changes replace the resource instead of updating it. */
  replaceOnChanges?: string[];
  /** Replace by deleting the old object first. */
  deleteBeforeReplace?: boolean;
  /** When removed from the program, forget the object instead of deleting it. */
  retainOnDelete?: boolean;
}

export interface Dependable {
  readonly address: string;
  readonly addresses: readonly string[];
  /** The stack that declared it: only that stack may depend on it. */
  readonly owner: StackOwner;
}

export interface Declaration {
  address: string;
  kind: Kind;
  args: Record<string, unknown>;
  dependsOn: Set<string>;
  options: LifecycleOptions;
  source?: SourceLocation;
  /** Problems found while the program ran (an unknown variant, a bad count), reported with the rest. */
  problems: Diagnostic[];
}

export function dependencyAddresses(dependsOn: ResourceOptions["dependsOn"]): string[] {
  if (!dependsOn) return [];
  return (Array.isArray(dependsOn) ? dependsOn : [dependsOn]).flatMap((d) => d.addresses);
}
