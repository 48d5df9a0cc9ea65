// A plan written to a file (`plan --out`) and applied later (`apply FILE`). It records the state's
// lineage and serial; once state has moved on the plan is refused, so what is applied is exactly
// what was reviewed.
import { readFileSync, writeFileSync } from "node:fs";
import type { Plan } from "./plan.ts";
import type { State, StateRecord } from "./state.ts";

export const SAVED_PLAN_VERSION = 1;

export interface SavedPlan {
  $virtformPlan: typeof SAVED_PLAN_VERSION;
  created: string;
  program: string;
  stack: string;
  lineage: string;
  serial: number;
  refreshOnly: boolean;
  /** What the plan's refresh observed; applied to state first. */
  refreshRecords: StateRecord[];
  plan: Plan;
}

export class StalePlanError extends Error {}

export function writeSavedPlan(file: string, saved: Omit<SavedPlan, "$virtformPlan" | "created">): void {
  const document: SavedPlan = { $virtformPlan: SAVED_PLAN_VERSION, created: new Date().toISOString(), ...saved };
  writeFileSync(file, JSON.stringify(document) + "\n");
}

/** The saved plan in `file`, or undefined when the file is not one (e.g. a program). */
export function readSavedPlan(file: string): SavedPlan | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  if (!text.startsWith("{")) return undefined;
  let parsed: Partial<SavedPlan>;
  try {
    parsed = JSON.parse(text) as Partial<SavedPlan>;
  } catch {
    return undefined;
  }
  if (parsed.$virtformPlan === undefined) return undefined;
  if (parsed.$virtformPlan !== SAVED_PLAN_VERSION) {
    throw new StalePlanError(`${file} is a saved plan of format ${String(parsed.$virtformPlan)}; this virtform reads format ${SAVED_PLAN_VERSION}`);
  }
  return parsed as SavedPlan;
}

export function checkNotStale(saved: SavedPlan, state: State, file: string): void {
  if (saved.stack !== state.stack) {
    throw new StalePlanError(`saved plan ${file} is for stack ${saved.stack}, not ${state.stack}`);
  }
  // Planned against a stack that had no state yet: still none, so nothing moved on.
  if (saved.serial === 0 && state.serial === 0) {
    state.lineage = saved.lineage;
    return;
  }
  if (saved.lineage !== state.lineage || saved.serial !== state.serial) {
    throw new StalePlanError(
      `saved plan is stale: state changed since ${file} was made (lineage ${saved.lineage.slice(0, 8)} serial ${saved.serial}, now lineage ${state.lineage.slice(0, 8)} serial ${state.serial}); run plan again`,
    );
  }
}
