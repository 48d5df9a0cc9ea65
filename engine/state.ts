// State: what virtform created, as a versioned document with serial (bumped by every change) and
// lineage (which history it belongs to). Changes are records — a pending operation before each
// provider call, its result after — applied in memory and appended to a journal, so a run killed
// at any point leaves a state that says what was in flight.
import { randomUUID } from "node:crypto";
import type { ResourceState, Value } from "../core/model.ts";

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

/** The one place state changes; replaying a journal calls it too. */
/**
 * A copy of state that applyRecord can change without touching the original: records replace
 * whole entries and never change a resource object in place, so copying the containers is enough.
 */
export function forkState(state: State): State {
  return { ...state, resources: { ...state.resources }, pending: { ...state.pending }, deposed: [...state.deposed], outputs: { ...state.outputs } };
}

export function applyRecord(state: State, record: StateRecord): void {
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
      const current = state.resources[record.address];
      if (current) state.deposed.push({ ...current, address: record.address });
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
}

export interface StateStore {
  load(): Promise<State>;
  /** Applies a change to `state` and persists it before returning. */
  record(state: State, record: StateRecord): Promise<void>;
  /** Writes the whole state as one snapshot (end of a run; also compacts the journal). */
  commit(state: State): Promise<void>;
}

/** A store that keeps nothing: rehearsals and tests. */
export function memoryStateStore(initial: State): StateStore & { records: StateRecord[] } {
  const records: StateRecord[] = [];
  return {
    records,
    load: async () => structuredClone(initial),
    record: async (state, record) => {
      records.push(record);
      applyRecord(state, record);
    },
    commit: async () => undefined,
  };
}

export class StateFileError extends Error {}
