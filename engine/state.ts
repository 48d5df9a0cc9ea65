// State: what virtform created, as a versioned document with serial (bumped by every change of its
// content, never by a record that changes nothing) and lineage (which history it belongs to). Changes are records — a pending operation before each
// provider call, its result after — applied in memory and appended to a journal, so a run killed
// at any point leaves a state that says what was in flight.
import { VirtformError } from "../core/virtform-error.ts";
import { randomUUID } from "node:crypto";
import type { ResourceState, Value } from "../core/model.ts";
import { deepEqual } from "../core/values.ts";

export const STATE_VERSION = 1;

/** An object replaced create-before-delete whose old copy still exists until its delete step. */
export interface DeposedObject extends ResourceState {
  address: string;
}

/** A provider call that was started; the token lets a later run find what a create made. */
export interface PendingOperation {
  operation: "create" | "update" | "delete";
  kind: string;
  token?: string;
  id?: string;
  inputs?: Record<string, Value>;
  dependsOn?: string[];
  secretPaths?: string[];
  started: string;
}

export interface State {
  version: typeof STATE_VERSION;
  serial: number;
  lineage: string;
  stack: string;
  resources: Record<string, ResourceState>;
  deposed: DeposedObject[];
  pending: Record<string, PendingOperation>;
  outputs: Record<string, Value>;
  /** Paths of outputs that hold secrets: redacted when shown, encrypted at rest. */
  secretOutputs?: string[];
}

export type StateRecord =
  | { type: "pending"; address: string; pending: PendingOperation }
  | { type: "settled"; address: string } // a pending operation failed: nothing changed
  | { type: "set"; address: string; resource: ResourceState }
  | { type: "remove"; address: string }
  | { type: "depose"; address: string }
  | { type: "remove-deposed"; address: string; id: string }
  | { type: "outputs"; outputs: Record<string, Value>; secretOutputs?: string[] }
  | { type: "move"; from: string; to: string }
  /** State rebuilt from the backend takes the history (lineage) its objects belong to. */
  | { type: "lineage"; lineage: string };

export function emptyState(stack: string): State {
  return {
    version: STATE_VERSION,
    serial: 0,
    lineage: randomUUID(),
    stack,
    resources: {},
    deposed: [],
    pending: {},
    outputs: {},
  };
}

/**
 * A copy of state that applyRecord can change without touching the original: records replace
 * whole entries and never change a resource object in place, so copying the containers is enough.
 */
export function forkState(state: State): State {
  return { ...state, resources: { ...state.resources }, pending: { ...state.pending }, deposed: [...state.deposed], outputs: { ...state.outputs } };
}

/**
 * The one place state changes; replaying a journal calls it too. Returns whether the record changed
 * anything: only then is the serial bumped (a saved plan stays applicable across a no-op record).
 */
export function applyRecord(state: State, record: StateRecord): boolean {
  const changed = changes(state, record);
  if (!changed) return false;
  state.serial += 1;
  switch (record.type) {
    case "pending":
      state.pending[record.address] = record.pending;
      break;
    case "settled":
      delete state.pending[record.address];
      break;
    case "set":
      state.resources[record.address] = record.resource;
      delete state.pending[record.address];
      break;
    case "remove":
      delete state.resources[record.address];
      delete state.pending[record.address];
      break;
    case "depose": {
      const current = state.resources[record.address]!;
      state.deposed.push({ ...current, address: record.address });
      delete state.resources[record.address];
      break;
    }
    case "remove-deposed":
      state.deposed = state.deposed.filter((d) => !(d.address === record.address && d.id === record.id));
      delete state.pending[record.address];
      break;
    case "outputs":
      state.outputs = record.outputs;
      if (record.secretOutputs?.length) state.secretOutputs = record.secretOutputs;
      else delete state.secretOutputs;
      break;
    case "lineage":
      state.lineage = record.lineage;
      break;
    case "move": {
      const resource = state.resources[record.from];
      if (resource) state.resources[record.to] = resource;
      delete state.resources[record.from];
      for (const [address, r] of Object.entries(state.resources)) {
        if (r.dependsOn.includes(record.from)) {
          state.resources[address] = { ...r, dependsOn: r.dependsOn.map((d) => (d === record.from ? record.to : d)) };
        }
      }
      break;
    }
  }
  return true;
}

/** Whether applying `record` would change `state`'s content. */
function changes(state: State, record: StateRecord): boolean {
  const pending = "address" in record && Object.hasOwn(state.pending, record.address);
  switch (record.type) {
    case "pending":
      return true; // each announces a new call (its start time differs)
    case "settled":
      return pending;
    case "set": {
      const current = state.resources[record.address];
      return pending || current === undefined || !deepEqual(current, record.resource);
    }
    case "remove":
      return pending || Object.hasOwn(state.resources, record.address);
    case "depose":
      return Object.hasOwn(state.resources, record.address);
    case "remove-deposed":
      return pending || state.deposed.some((d) => d.address === record.address && d.id === record.id);
    case "outputs":
      return !deepEqual(record.outputs, state.outputs) || !deepEqual(record.secretOutputs ?? [], state.secretOutputs ?? []);
    case "lineage":
      return record.lineage !== state.lineage;
    case "move":
      return Object.hasOwn(state.resources, record.from) || Object.values(state.resources).some((r) => r.dependsOn.includes(record.from));
  }
}

/** State on disk that cannot be read: damaged, or written by another version of virtform. */
export class StateFileError extends VirtformError<"state-damaged" | "state-version"> {
  readonly layer = "state";

  constructor(message: string, code: "state-damaged" | "state-version" = "state-damaged") {
    super(code, message);
  }
}
