// A plan written to a file (`plan --out`) and applied later (`apply FILE`). It records the state's
// lineage and serial; once state has moved on the plan is refused, so what is applied is exactly
// what was reviewed. A plan that holds secret values keeps its body (changes, refresh, outputs)
// encrypted with the state's passphrase, as state does.
import { VirtformError } from "../core/virtform-error.ts";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../durable/write-file-atomic.ts";
import type { Value } from "../core/model.ts";
import type { Plan } from "./plan.ts";
import { SecretsError } from "../core/secrets-error.ts";
import type { Sealed, StateCipher } from "./state-crypto.ts";
import type { State, StateRecord } from "./state.ts";
import { getPath } from "../core/values.ts";

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
  /**
   * Set when the plan is one pass of a program known in passes (a Pulumi program computing inputs
   * from outputs), not the whole program: what it leaves for a later pass. Deletions wait for the
   * last pass too.
   */
  laterPasses?: { deferred: string[]; unknownOutputs: string[]; project: string };
}

/** What is encrypted when the plan holds secrets. */
type SavedBody = Pick<SavedPlan, "refreshOnly" | "refreshRecords" | "plan">;

/** A saved plan that cannot be applied: state moved on since it was made, or another format. */
export class StalePlanError extends VirtformError<"plan-stale" | "plan-format"> {
  readonly layer = "state";

  constructor(message: string, code: "plan-stale" | "plan-format" = "plan-stale") {
    super(code, message);
  }
}

/** Whether any value at a secret path (or a secret output) is in the plan or its refresh. */
export function planHoldsSecrets(
  saved: SavedBody,
  pathsOf: (kind: string, extra: readonly string[] | undefined) => readonly string[],
): boolean {
  const holds = (values: Record<string, Value> | null | undefined, paths: readonly string[]) =>
    values != null && paths.some((p) => getPath(values, p) != null);
  if ((saved.plan.secretOutputs ?? []).length > 0) return true;
  for (const change of saved.plan.changes) {
    const paths = pathsOf(change.kind, change.secretPaths);
    if (holds(change.before, paths) || holds(change.after, paths)) return true;
  }
  return saved.refreshRecords.some((record) => {
    if (record.type !== "set") return false;
    const paths = pathsOf(record.resource.kind, record.resource.secretPaths);
    return holds(record.resource.inputs, paths) || holds(record.resource.outputs, paths);
  });
}

export function writeSavedPlan(
  file: string,
  saved: Omit<SavedPlan, "$virtformPlan" | "created">,
  secrets: { holds: boolean; cipher: StateCipher | undefined },
): void {
  const document: SavedPlan = { $virtformPlan: SAVED_PLAN_VERSION, created: new Date().toISOString(), ...saved };
  if (!secrets.holds) {
    writeFileAtomic(file, JSON.stringify(document) + "\n");
    return;
  }
  if (!secrets.cipher) {
    throw new SecretsError(`the plan holds secret values: set VIRTFORM_PASSPHRASE so that ${file} keeps them encrypted`);
  }
  const { refreshOnly, refreshRecords, plan, ...header } = document;
  const body: SavedBody = { refreshOnly, refreshRecords, plan };
  writeFileAtomic(file, JSON.stringify({ ...header, encrypted: secrets.cipher.seal(body as unknown as Value) }) + "\n");
}

/**
 * The saved plan in `file`, or undefined when the file is not one (e.g. a program). An encrypted
 * one needs the cipher (the passphrase it was saved with).
 */
export function readSavedPlan(file: string, cipher?: () => StateCipher | undefined): SavedPlan | undefined {
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
    throw new StalePlanError(`${file} is a saved plan of format ${String(parsed.$virtformPlan)}; this virtform reads format ${SAVED_PLAN_VERSION}`, "plan-format");
  }
  const { encrypted, ...header } = parsed as Partial<SavedPlan> & { encrypted?: Sealed };
  if (encrypted === undefined) return parsed as SavedPlan;
  const opener = cipher?.();
  if (!opener) throw new SecretsError(`saved plan ${file} holds encrypted secrets: set VIRTFORM_PASSPHRASE to the passphrase it was saved with`);
  let body: SavedBody;
  try {
    body = opener.open(encrypted, "in the plan") as unknown as SavedBody;
  } catch (err) {
    if (!(err instanceof SecretsError)) throw err;
    if (err.reason === "damaged") throw new SecretsError(`saved plan ${file} is damaged: ${err.message}; make the plan again`, "damaged");
    throw new SecretsError(`VIRTFORM_PASSPHRASE does not decrypt saved plan ${file}: it is not the passphrase the plan was saved with`);
  }
  return { ...header, ...body } as SavedPlan;
}

/**
 * Refuses (StalePlanError) a plan that state has moved on from. Otherwise returns the records that
 * put state on the plan's base, for the caller to record: a plan made before the stack had any
 * state takes on the lineage it was made against. `state` itself is not changed.
 */
export function checkNotStale(saved: SavedPlan, state: Readonly<State>, file: string): StateRecord[] {
  if (saved.stack !== state.stack) {
    throw new StalePlanError(`saved plan ${file} is for stack ${saved.stack}, not ${state.stack}`);
  }
  // Planned against a stack that had no state yet: still none, so nothing moved on.
  if (saved.serial === 0 && state.serial === 0) {
    return saved.lineage === state.lineage ? [] : [{ type: "lineage", lineage: saved.lineage }];
  }
  if (saved.lineage !== state.lineage || saved.serial !== state.serial) {
    throw new StalePlanError(
      `saved plan is stale: state changed since ${file} was made (lineage ${saved.lineage.slice(0, 8)} serial ${saved.serial}, now lineage ${state.lineage.slice(0, 8)} serial ${state.serial}); run plan again`,
    );
  }
  return [];
}
