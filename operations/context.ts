// What every operation works on (a state store, a provider) and what it tells its caller while it
// runs. Operations print nothing: the CLI, the Pulumi host and review render the results and events.
import type { ApplyHooks, Step, StepResult } from "../engine/apply.ts";
import type { DesiredResource, Diagnostic, Value } from "../core/model.ts";
import type { Provider } from "../engine/provider.ts";
import type { Recovered } from "../engine/recover.ts";
import type { LockInfo, StateStore } from "../engine/state-store.ts";

/** A program's desired resources and outputs, as evaluated (the DSL or a Pulumi program). */
export interface DesiredProgram {
  stack: string;
  resources: DesiredResource[];
  outputs: Record<string, Value>;
  secretOutputs: string[];
  /**
   * A program known in part (a pass of a Pulumi program whose other resources wait for outputs not yet
   * known): only these addresses are planned, everything else stays as state has it (no deletion),
   * and outputs still unknown keep their recorded values.
   */
  partial?: string[];
}

export type OperationEvent =
  /** A lock left by a process that is gone was taken over. */
  | { type: "stale-lock-taken"; holder: LockInfo }
  /** An operation a killed run left in flight was settled before planning. */
  | { type: "recovered"; recovered: Recovered }
  /** Something the user should know that does not stop the operation. */
  | { type: "warning"; message: string }
  | { type: "step-start"; step: Step }
  | { type: "step-end"; result: StepResult };

export interface OperationContext {
  store: StateStore;
  /**
   * The backend, opened once the stack's lock is held (opening the embedded emulator takes its data
   * lock: a second run must be told the state is locked, not that the emulator is busy). It may be
   * loaded then too (the CLI loads a backend other than the embedded emulator's only when used).
   */
  provider: () => Provider | Promise<Provider>;
  onEvent?: (event: OperationEvent) => void;
}

const opened = new WeakMap<OperationContext, Promise<Provider>>();

/** The context's provider, opened on first use. */
export function providerOf(context: OperationContext): Promise<Provider> {
  let provider = opened.get(context);
  if (!provider) opened.set(context, (provider = Promise.resolve(context.provider())));
  return provider;
}

export function emit(context: OperationContext, event: OperationEvent): void {
  context.onEvent?.(event);
}

/** Apply's step hooks, as events. */
export function stepEvents(context: OperationContext): ApplyHooks {
  if (!context.onEvent) return {};
  return {
    onStepStart: (step) => emit(context, { type: "step-start", step }),
    onStepEnd: (result) => emit(context, { type: "step-end", result }),
  };
}

/** Runs `work` holding the stack's lock; a stale lock taken over is told as an event. */
export async function withLock<T>(context: OperationContext, operation: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const lock = await context.store.lock(operation, { timeoutMs, onStale: (holder) => emit(context, { type: "stale-lock-taken", holder }) });
  try {
    return await work();
  } finally {
    lock.release();
  }
}

export const isError = (d: Diagnostic) => d.severity === "error";
