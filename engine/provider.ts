// The only thing the engine calls to change the world. The provider package implements it over a
// backend (the embedded emulator, the emulator over HTTP, libvirt); tests implement it with functions.
import type { ResourceState, Value } from "../core/model.ts";

export interface Created {
  id: string;
  outputs: Record<string, Value>;
}

/** Which stack made an object, in which history of its state, under which address: the backend keeps it as tags. */
export interface Owner {
  stack: string;
  lineage: string;
  address: string;
}

export interface Observed {
  inputs: Record<string, Value>;
  outputs: Record<string, Value>;
  /** Why the backend cannot serve the object as declared (its bytes are missing): drift, and a plan error. */
  unhealthy?: string;
  /** Absent for objects made outside virtform (or before objects were tagged). */
  owner?: Owner;
}

/** An object the backend holds for a stack, found by its tags. */
export interface OwnedRef {
  kind: string;
  id: string;
  owner: Owner;
}

/** The same, read: with its inputs and outputs. */
export interface Owned extends OwnedRef, Observed {
  owner: Owner;
}

/** One measure of one pool of capacity: "cluster.web vCPU 40 of 256". */
export interface CapacityRow {
  /** The backend's id of the cluster or pool: names may repeat across stacks, ids do not. */
  id: string;
  /** Its name in the backend, for people (the plan shows the stack's own address instead). */
  owner: string;
  measure: string;
  unit: string;
  used: number;
  total: number;
}

export interface Provider {
  /**
   * `token` identifies this create across retries: the same token returns the same object.
   * `address` names the object in the backend, for people reading it there; the object is tagged
   * with its owner (stack, lineage, address), so that a lost state can be recovered from the backend.
   * `secretPaths` are the input paths the program wrapped with secret(), which the backend keeps as
   * secret as the kind's own.
   */
  create(kind: string, inputs: Record<string, Value>, context: { token: string; secretPaths?: readonly string[] } & Owner): Promise<Created>;
  read(kind: string, id: string): Promise<Observed | null>;
  /** Many reads of one kind in one call (refresh); absent ids are missing from the map. Optional. */
  readMany?(kind: string, ids: string[]): Promise<Map<string, Observed>>;
  /**
   * The object a create with this token made, or null if it made none. Optional: without it a
   * pending create is retried with the same token, which the backend answers with the same object.
   */
  recover?(kind: string, token: string): Promise<Created | null>;
  /** Every object the backend holds tagged with this stack, of every kind. Optional: without it lost state cannot be detected. */
  listOwned?(stack: string): Promise<OwnedRef[]>;
  /**
   * Sets who owns an object (import, state mv, recover), or with null lets it go (state rm,
   * retainOnDelete): an object virtform forgot must not read as lost state. A missing object is no error.
   */
  setOwner?(kind: string, id: string, owner: Owner | null): Promise<void>;
  update(
    kind: string,
    prior: ResourceState,
    inputs: Record<string, Value>,
    restart: boolean,
    context?: { secretPaths?: readonly string[] },
  ): Promise<Record<string, Value>>;
  delete(kind: string, prior: ResourceState): Promise<void>;
  /**
   * A throw-away copy of the backend to rehearse a plan on, so that an apply never fails for a reason
   * the plan could have known (capacity, placement, conflicts). Optional: without it plans are
   * not checked.
   */
  rehearsal?(): Promise<Provider & { dispose(): Promise<void> }>;
  /** What the backend has and uses, for the plan's capacity section. Optional. */
  capacity?(): Promise<CapacityRow[]>;
  /** Bytes written to a volume or snapshot (what deleting it loses), for reviews. Optional. */
  writtenBytes?(kind: string, id: string): Promise<number | undefined>;
}
