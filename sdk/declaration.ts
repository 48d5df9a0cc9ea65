// What a DSL call records: the raw arguments (which may hold Outputs and image variants), explicit
// dependencies, options and the line it came from. Validation happens once the program has run, so
// that every error is reported at once.
import type { LifecycleOptions } from "../core/lifecycle-options.ts";
import type { Diagnostic, SourceLocation } from "../core/model.ts";
import type { Kind } from "./kinds/kind.ts";
import type { Dependable, ResourceOptions } from "./resource-options.ts";

export type { Dependable, ResourceOptions } from "./resource-options.ts";

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
