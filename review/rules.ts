// The review's risk rules, one entry each: an id (used in the config file and in ignore comments), a
// severity, an explanation for the reader, and a check over the plan. Checks return raw findings
// naming the resource and, where one field causes it, the field; the review locates them in source.
import { dataLoss, describeDataLoss } from "../engine/data-loss.ts";
import type { Diagnostic, KindInfo, Reference, Value } from "../core/model.ts";
import { isReference } from "../core/model.ts";
import type { Plan, ResourceChange } from "../engine/plan.ts";
import type { CapacityChange } from "../engine/render/capacity.ts";
import { isSecretPath } from "../core/secret-paths.ts";
import { getPath } from "../core/values.ts";
import { secretPathsOf } from "../sdk/kinds/index.ts";
import type { Severity } from "./model.ts";

export interface RuleContext {
  plan: Plan;
  kinds: ReadonlyMap<string, KindInfo>;
  /** Addresses protected in the program or in state (the planner saw them without protect). */
  protectedAddresses: ReadonlySet<string>;
  capacity: readonly CapacityChange[];
  /** Why the backend's rehearsal refused the plan, if it did. */
  infeasible: readonly Diagnostic[];
  /** Image lock problems (missing, stale), from the program's virtform.lock. */
  locks: readonly Diagnostic[];
  /** Used / usable above which a cluster or pool is reported (0..1). */
  capacityThreshold: number;
  /** Bytes the backend holds for volumes and snapshots the plan replaces or deletes (a review against state). */
  writtenBytes?: ReadonlyMap<string, number>;
}

/** "412 MiB", "1.5 GiB", "12 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 10 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
  return `${text} ${units[unit]}`;
}

export interface RawFinding {
  address?: string;
  path?: string;
  message: string;
  /** Overrides the rule's severity for this finding. */
  severity?: Severity;
}

export interface Rule {
  id: string;
  severity: Severity;
  title: string;
  explanation: string;
  check(context: RuleContext): RawFinding[];
}

const DATA_KINDS = new Set(["Volume", "Snapshot"]);
const changing = (c: ResourceChange) => c.action !== "noop";
const replaceField = (c: ResourceChange) => c.fields.find((f) => f.behaviour === "replace")?.path;
const groupOf = (address: string) => address.replace(/\[\d+\]$/, "");

const dataLossRule: Rule = {
  id: "data-loss",
  severity: "error",
  title: "Data loss",
  explanation:
    "A volume or snapshot that is replaced or deleted loses its bytes for good (a replacement starts empty); an instance stopped, restarted or replaced loses its local disk.",
  check: ({ plan, kinds, writtenBytes }) =>
    plan.changes.flatMap((c): RawFinding[] => {
      const found: RawFinding[] = [];
      if (DATA_KINDS.has(c.kind) && (c.action === "replace" || (c.action === "delete" && !c.deposedId))) {
        const size = c.before?.sizeGiB;
        const written = writtenBytes?.get(c.address);
        const held =
          written !== undefined
            ? ` (${formatBytes(written)} written${typeof size === "number" ? ` of ${size} GiB` : ""})`
            : typeof size === "number"
              ? ` (${size} GiB provisioned)`
              : "";
        found.push({
          address: c.address,
          ...(replaceField(c) ? { path: replaceField(c) } : {}),
          message:
            c.action === "replace"
              ? `${c.address} is replaced (${c.reasonText}): the new ${c.kind.toLowerCase()} starts empty and the data of the old one${held} is deleted`
              : `${c.address} is deleted (${c.reasonText}) with its data${held}`,
        });
      }
      const loss = dataLoss(c, kinds.get(c.kind));
      if (loss) {
        // The bytes the backend holds on that local disk, when it can say (the emulator, embedded or served, can).
        const written = c.kind === "Instance" ? writtenBytes?.get(c.address) : undefined;
        const held = written !== undefined ? `, ${formatBytes(written)} written` : "";
        found.push({ address: c.address, ...(c.fields[0] ? { path: c.fields[0].path } : {}), message: `${describeDataLoss(loss)}${held} (${c.action})` });
      }
      return found;
    }),
};

const downtimeRule: Rule = {
  id: "downtime",
  severity: "warning",
  title: "Downtime",
  explanation:
    "An instance replaced, restarted or removed stops serving; a group whose members are all replaced at once is down as a whole; dropping anti-affinity lets one host failure take several members down.",
  check: ({ plan }) => {
    const found: RawFinding[] = [];
    const instances = plan.changes.filter((c) => c.kind === "Instance");
    for (const c of instances) {
      if (c.action === "replace" || c.action === "update-with-restart") {
        const field = c.action === "replace" ? replaceField(c) : c.fields.find((f) => f.behaviour === "restart")?.path;
        found.push({ address: c.address, ...(field ? { path: field } : {}), message: `${c.address} is ${c.action === "replace" ? "replaced" : "restarted"} (${c.reasonText})` });
      } else if (c.action === "delete" && !c.deposedId) {
        found.push({ address: c.address, message: `${c.address} is deleted (${c.reasonText}): the group serves with fewer instances` });
      }
      const before = getPath(c.before, "placement.antiAffinityGroup");
      const after = getPath(c.after, "placement.antiAffinityGroup");
      if (changing(c) && c.after && typeof before === "string" && before !== after) {
        found.push({ address: c.address, path: "placement.antiAffinityGroup", message: `${c.address} leaves anti-affinity group "${before}": members may share a host and fail together` });
      }
    }
    const groups = new Map<string, ResourceChange[]>();
    for (const c of instances.filter((c) => c.after)) groups.set(groupOf(c.address), [...(groups.get(groupOf(c.address)) ?? []), c]);
    for (const [group, members] of groups) {
      if (members.length > 1 && members.every((m) => m.action === "replace" || m.action === "update-with-restart")) {
        found.push({ address: members[0]!.address, message: `all ${members.length} members of ${group} go down at once: the group is unavailable during the change` });
      }
    }
    return found;
  },
};

const capacityRule: Rule = {
  id: "capacity",
  severity: "warning",
  title: "Capacity",
  explanation: "A cluster or pool nearly full after the plan leaves no room for failover or growth; a plan the backend cannot fit fails on apply.",
  check: ({ capacity, infeasible, capacityThreshold }) => [
    ...capacity.flatMap((row): RawFinding[] => {
      const after = row.after;
      if (!after || after.total <= 0 || after.used / after.total <= capacityThreshold) return [];
      const percent = Math.round((after.used / after.total) * 100);
      return [{ message: `${row.owner} ${row.measure}: ${after.used} of ${after.total} ${row.unit} used after the plan (${percent}%, above ${Math.round(capacityThreshold * 100)}%)` }];
    }),
    ...infeasible.map((d) => ({ ...(d.address ? { address: d.address } : {}), ...(d.path ? { path: d.path } : {}), severity: "error" as const, message: `the plan cannot be applied: ${d.message}` })),
  ],
};

/** "tomcat10" has no version constraint; "tomcat10 (>= 10.1)" has one. */
const unconstrained = (packages: unknown): string[] => (Array.isArray(packages) ? packages.filter((p): p is string => typeof p === "string" && !p.includes("(")) : []);

function imagePackages(inputs: Record<string, Value> | null): Map<string, string[]> {
  const byPlace = new Map<string, string[]>();
  if (!inputs) return byPlace;
  byPlace.set("packages", unconstrained(inputs.packages));
  const variants = inputs.variants;
  if (variants && typeof variants === "object" && !Array.isArray(variants)) {
    for (const [name, variant] of Object.entries(variants)) byPlace.set(`variants.${name}.packages`, unconstrained(getPath(variant, "packages")));
  }
  return byPlace;
}

const supplyChainRule: Rule = {
  id: "supply-chain",
  severity: "warning",
  title: "Supply chain",
  explanation:
    "A package without a version constraint takes whatever the catalog has when the image is built; a missing or stale virtform.lock means the plan's digests cover only the requested names, not exact versions, so the base and its packages are not pinned.",
  check: ({ plan, locks }) => [
    ...plan.changes
      .filter((c) => c.kind === "Image" && (c.action === "create" || c.action === "update" || c.action === "replace"))
      .flatMap((c) => {
        const before = imagePackages(c.before);
        return [...imagePackages(c.after)].flatMap(([path, names]) => {
          const added = names.filter((n) => !(before.get(path) ?? []).includes(n));
          return added.length === 0 ? [] : [{ address: c.address, path, message: `${c.address} ${path}: ${added.join(", ")} without a version constraint` }];
        });
      }),
    ...locks.map((d) => ({ ...(d.address ? { address: d.address } : {}), message: d.message })),
  ],
};

const sharingRule: Rule = {
  id: "sharing",
  severity: "warning",
  title: "Shared writable volume",
  explanation:
    "A multi-attach volume written by one instance while others attach it needs a cluster filesystem (OCFS2, GFS2); an ordinary filesystem mounted twice corrupts.",
  check: ({ plan }) => {
    const attachments = plan.changes.filter((c) => c.kind === "Attachment" && c.after);
    const byVolume = new Map<string, ResourceChange[]>();
    for (const a of attachments) {
      const volume = (a.template?.volume as Reference | undefined)?.$ref;
      if (volume) byVolume.set(volume, [...(byVolume.get(volume) ?? []), a]);
    }
    return [...byVolume].flatMap(([volume, attached]): RawFinding[] => {
      const writers = attached.filter((a) => (a.after?.mode ?? "read-write") === "read-write");
      const volumeChange = plan.changes.find((c) => c.address === volume);
      const touched = attached.some(changing) || (volumeChange !== undefined && changing(volumeChange));
      if (!touched || writers.length === 0 || attached.length < 2) return [];
      const first = writers.find(changing) ?? writers[0]!;
      return [{ address: first.address, path: "mode", message: `${volume} is attached ${attached.length} times, ${writers.length} read-write: it needs a cluster filesystem` }];
    });
  },
};

const protectionRule: Rule = {
  id: "protection",
  severity: "warning",
  title: "Unprotected data",
  explanation: "A resource that holds data (a volume, a snapshot) without `protect: true` can be deleted or replaced by a later plan without a refusal.",
  check: ({ plan, protectedAddresses }) =>
    plan.changes.flatMap((c): RawFinding[] => {
      if (protectedAddresses.has(c.address) && (c.action === "replace" || (c.action === "delete" && !c.deposedId))) {
        return [{ address: c.address, severity: "error", message: `${c.address} is protected: apply refuses to ${c.action === "replace" ? "replace" : "delete"} it until protect is removed` }];
      }
      if (!DATA_KINDS.has(c.kind) || !c.after || !changing(c) || protectedAddresses.has(c.address)) return [];
      return [{ address: c.address, message: `${c.address} holds data but is not protected: add { protect: true } to its options` }];
    }),
};

/** Every reference inside a value with the dotted path where it sits. */
function referencesAt(value: unknown, path = ""): { path: string; ref: Reference }[] {
  if (isReference(value)) return [{ path, ref: value }];
  if (Array.isArray(value)) return value.flatMap((v) => referencesAt(v, path));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => referencesAt(v, path ? `${path}.${k}` : k));
  return [];
}

/** Every string leaf of a value with its dotted path (array elements share the array's path). */
function stringsAt(value: unknown, path = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v) => stringsAt(v, path));
  if (value && typeof value === "object" && !isReference(value)) return Object.entries(value).flatMap(([k, v]) => stringsAt(v, path ? `${path}.${k}` : k));
  return [];
}

const secretsRule: Rule = {
  id: "secrets",
  severity: "warning",
  title: "Secret in the open",
  explanation:
    "A secret that reaches a field the kind does not treat as secret, or a stack output, is stored and shown wherever that field or output goes (state readers, plan output, tools).",
  check: ({ plan }) => {
    const secretsOf = (c: ResourceChange) => secretPathsOf(c.kind, c.secretPaths);
    const byAddress = new Map(plan.changes.map((c) => [c.address, c]));
    const isSecretRef = (ref: Reference) => {
      const target = byAddress.get(ref.$ref);
      return target !== undefined && isSecretPath(ref.path, secretsOf(target));
    };
    // Secret values the program holds (8 characters or more: short values match by chance).
    const secretValues = new Map<string, string>();
    for (const c of plan.changes) {
      for (const s of stringsAt(c.after)) if (s.text.length >= 8 && isSecretPath(s.path, secretsOf(c)) && !secretValues.has(s.text)) secretValues.set(s.text, `${c.address} ${s.path}`);
    }
    const found: RawFinding[] = [];
    for (const c of plan.changes.filter((c) => c.after && changing(c))) {
      const secrets = secretsOf(c);
      for (const { path, ref } of referencesAt(c.template)) {
        if (isSecretRef(ref) && !isSecretPath(path, secrets)) found.push({ address: c.address, path, message: `${c.address} ${path} takes the secret ${ref.$ref} ${ref.path}, but ${path} is not a secret field` });
      }
      for (const { path, text } of stringsAt(c.after)) {
        const from = secretValues.get(text);
        if (from && !isSecretPath(path, secrets)) found.push({ address: c.address, path, message: `${c.address} ${path} holds the same value as the secret ${from}, but ${path} is not a secret field` });
      }
    }
    for (const [name, value] of Object.entries(plan.outputs)) {
      if (referencesAt(value).some(({ ref }) => isSecretRef(ref)) || stringsAt(value).some((s) => secretValues.has(s.text))) {
        found.push({ message: `output ${name} exposes a secret: anyone who reads the stack's outputs can recover it` });
      }
    }
    return found;
  },
};

export const rules: readonly Rule[] = [dataLossRule, downtimeRule, capacityRule, supplyChainRule, sharingRule, protectionRule, secretsRule];
export const ruleIds: readonly string[] = rules.map((r) => r.id);
