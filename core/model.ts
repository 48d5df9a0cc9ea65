// The vocabulary every layer shares (core/ imports nothing of ours). The SDK, the Pulumi host and
// the Terraform front door produce DesiredResource values and the engine plans them, without either
// side importing the other.
import type { LifecycleOptions } from "./lifecycle-options.ts";
import { VirtformError } from "./virtform-error.ts";

/** A JSON value that may contain references to other resources' outputs or unknown markers. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** "Known after apply": a value the plan cannot know yet. Serialisable so plans can be saved. */
export type Unknown = {
  readonly $unknown: true;
};
export const UNKNOWN: Unknown = Object.freeze({ $unknown: true });

/** A reference to an output of another resource, e.g. the `id` of `cluster.web`. */
export type Reference = {
  readonly $ref: string;
  readonly path: string;
};

export interface SourceLocation {
  file: string;
  line: number;
  column?: number;
  /** The calls that led here, innermost first (helper functions); recorded only for reviews. */
  callers?: SourceLocation[];
}

export type ChangeBehaviour = "in-place" | "restart" | "replace";
export type ReplaceOrder = "create-before-delete" | "delete-before-create";

/** What the engine needs to know of a resource kind; the SDK's kind definitions provide it. */
export interface KindInfo {
  readonly name: string;
  /** How a change to an input field is carried out; `path` is dotted ("hosts.count"). */
  changeBehaviour(path: string): ChangeBehaviour;
  /** Input and output field paths whose values are never shown. */
  readonly secrets: readonly string[];
  readonly replaceOrder: ReplaceOrder;
  readonly ephemeralStorage?: EphemeralStorage;
}

/**
 * Storage whose bytes live only while the object runs (an instance's local disk): stopping,
 * restarting, replacing or deleting the object loses them, and the plan says so.
 */
export interface EphemeralStorage {
  /** What people call it: "local disk". */
  label: string;
  /** The input holding its size, and the size's unit. */
  sizePath: string;
  unit: string;
  /** The input holding the desired power state, and the value that means stopped. */
  powerPath: string;
  stopped: string;
}

export interface DesiredResource {
  address: string;
  kind: string;
  /** Validated inputs; may contain Reference values. */
  inputs: Record<string, Value | Reference>;
  /** Addresses this resource depends on: explicit ones and those implied by references. */
  dependsOn: string[];
  options: LifecycleOptions;
  source?: SourceLocation;
  /** Input paths the program wrapped with secret(): redacted and encrypted like the kind's secrets. */
  secretPaths?: string[];
}

/** One resource as recorded in state after a successful step. */
export interface ResourceState {
  kind: string;
  id: string;
  /** Inputs with every reference resolved to the value it had when applied. */
  inputs: Record<string, Value>;
  outputs: Record<string, Value>;
  dependsOn: string[];
  source?: SourceLocation;
  secretPaths?: string[];
  /** Options that still matter once the resource has left the program. */
  options?: Pick<LifecycleOptions, "protect" | "retainOnDelete">;
}

/** An error or warning tied, where possible, to a resource, a field and a source line. */
export interface Diagnostic {
  severity: "error" | "warning";
  message: string;
  address?: string;
  path?: string;
  source?: SourceLocation;
}

/** Problems with a program or a plan, each tied to where it is: listed one a line under the summary. */
export class DiagnosticsError extends VirtformError<"diagnostics"> {
  readonly layer: string = "engine";
  readonly diagnostics: Diagnostic[];

  constructor(
    diagnostics: Diagnostic[],
    summary = `${diagnostics.length} error${diagnostics.length === 1 ? "" : "s"}`,
  ) {
    super("diagnostics", summary);
    this.diagnostics = diagnostics;
  }
}

export function isUnknown(v: unknown): v is Unknown {
  return typeof v === "object" && v !== null && (v as { $unknown?: unknown }).$unknown === true;
}

export function isReference(v: unknown): v is Reference {
  return typeof v === "object" && v !== null && typeof (v as { $ref?: unknown }).$ref === "string";
}

export function formatSource(source: SourceLocation | undefined): string {
  return source ? `${source.file}:${source.line}` : "";
}

/** "infra.ts:12: volume.data: sizeGiB: must be > 0" — the order a user scans an error in. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [formatSource(d.source), d.address, d.path].filter((part) => part);
  return where.length > 0 ? `${where.join(": ")}: ${d.message}` : d.message;
}
