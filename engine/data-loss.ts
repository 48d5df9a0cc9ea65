// What a change loses for good: the bytes of storage that lives only while its object runs (an
// instance's local disk). Plans say it beside the change ("local disk wiped: 40 GiB"), since the
// action alone (a restart, a replacement) does not tell a reader that data goes with it.
import type { KindInfo, Value } from "../core/model.ts";
import type { ResourceChange } from "./plan.ts";

export interface DataLoss {
  what: string;
  size: number;
  unit: string;
}

export function dataLoss(change: Pick<ResourceChange, "action" | "before" | "after">, kind: KindInfo | undefined): DataLoss | undefined {
  const storage = kind?.ephemeralStorage;
  if (!storage || !change.before) return undefined;
  const size = change.before[storage.sizePath];
  // A stopped object's storage is empty already: nothing left to lose.
  if (typeof size !== "number" || size <= 0 || isStopped(change.before[storage.powerPath], storage.stopped)) return undefined;
  const stops =
    change.action === "replace" ||
    change.action === "delete" ||
    change.action === "update-with-restart" ||
    (change.action === "update" && isStopped(change.after?.[storage.powerPath], storage.stopped));
  return stops ? { what: storage.label, size, unit: storage.unit } : undefined;
}

export function describeDataLoss(loss: DataLoss): string {
  return `${loss.what} wiped: ${loss.size} ${loss.unit}`;
}

function isStopped(value: Value | undefined, stopped: string): boolean {
  return value === stopped;
}
