// What the provider needs of a backend. The embedded emulator implements it in-process; the emulator
// over HTTP and libvirt implement the same operations.
import type { Value } from "../core/model.ts";
import type { CapacityReportRow } from "../emulator/capacity.ts";
import type { KindName } from "../sdk/kinds/index.ts";

export interface BackendObject {
  id: string;
  name: string;
  spec: Record<string, Value>;
  outputs: Record<string, Value>;
  /** Labels given at create (the emulator's tags); absent from backends without them. */
  tags?: Record<string, string>;
  /** Set by reads when the backend cannot serve the object (a pool whose bytes are missing). */
  unhealthy?: string;
}

export interface Backend {
  /** `secretPaths`: spec paths to keep secret beside the kind's own secret fields (sealed at rest, redacted when inspected). */
  create(
    kind: KindName,
    spec: Record<string, Value>,
    options: { name: string; token: string; tags?: Record<string, string>; secretPaths?: readonly string[] },
  ): Promise<BackendObject>;
  get(kind: KindName, id: string): Promise<BackendObject | null>;
  update(kind: KindName, id: string, spec: Record<string, Value>, options: { restart: boolean; secretPaths?: readonly string[] }): Promise<BackendObject>;
  delete(kind: KindName, id: string): Promise<void>;
  /** The object a create with this idempotency token made, if any: how a crashed run is recovered. */
  getByToken?(kind: KindName, token: string): Promise<BackendObject | null>;
  /** Replaces an object's tags. */
  setTags?(kind: KindName, id: string, tags: Record<string, string>): Promise<BackendObject>;
  /** Every object of a kind (or those with every tag of `filter.tags`): the batched read behind refresh. */
  list?(kind: KindName, filter?: { tags?: Record<string, string> }): Promise<BackendObject[]>;
  /** Used and usable capacity, for the plan's capacity section. */
  capacity?(): Promise<CapacityReportRow[]>;
  /** Bytes written to a volume or snapshot, for the review's data-loss findings; undefined when not known. */
  writtenBytes?(kind: KindName, id: string): Promise<number | undefined>;
  /** A disposable copy to rehearse a plan on. */
  rehearsal(): Promise<Backend & { dispose(): Promise<void> }>;
}

/** A backend's "does not exist": deletes treat it as done, reads as gone. */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "not-found";
}
