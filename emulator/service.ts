// The shape of one collection's domain logic. The Emulator class does the common part (ids,
// validation, idempotency tokens, events, persistence); a service decides what a change means.
import type { Value } from "../core/model.ts";
import type { EmulatorContext } from "./context.ts";
import type { Collection, EmulatorData } from "./data.ts";

export type ObjectOf<C extends Collection> = EmulatorData[C][string];
export type SpecOf<C extends Collection> = ObjectOf<C>["spec"];

export interface ObjectService<C extends Collection> {
  collection: C;
  idPrefix: string;
  /** Completes a new object (id, name and spec are set) or throws; nothing is stored on a throw. */
  create(ctx: EmulatorContext, object: ObjectOf<C>): void;
  update(ctx: EmulatorContext, object: ObjectOf<C>, spec: SpecOf<C>, options: { restart: boolean }): void;
  /** Throws when the object may not go; cleans up what depends on it otherwise. */
  delete(ctx: EmulatorContext, object: ObjectOf<C>): void;
  outputs(ctx: EmulatorContext, object: ObjectOf<C>): Record<string, Value>;
  /** Where, outside its spec, the service keeps copies of the spec's secret values (paths in the object). */
  secretCopies?(object: ObjectOf<C>, specPaths: readonly string[]): string[];
}
