// The plan as people read it in a terminal: Terraform's symbols, one line per changed field with
// before -> after, and the reason for every replacement.
import { styleText } from "node:util";
import { formatSource, isUnknown, type KindInfo, type Value } from "../../core/model.ts";
import { dataLoss, describeDataLoss } from "../data-loss.ts";
import type { OutputChange } from "../output-changes.ts";
import type { PlannedField } from "../plan-resource.ts";
import { summarize, type Plan, type ResourceChange } from "../plan.ts";
import type { Drift } from "../refresh.ts";
import { isSecretPath, REDACTED, secretPaths } from "../../core/secret-paths.ts";
import { redactedFields } from "./redact-drift.ts";

type Color = Parameters<typeof styleText>[0];

const SYMBOL: Record<ResourceChange["action"], { symbol: string; color: Color; verb: string }> = {
  noop: { symbol: " ", color: "gray", verb: "unchanged" },
  create: { symbol: "+", color: "green", verb: "will be created" },
  update: { symbol: "~", color: "yellow", verb: "will be updated in place" },
  "update-with-restart": { symbol: "~", color: "yellow", verb: "will be updated in place, with a restart" },
  replace: { symbol: "-/+", color: "magenta", verb: "will be replaced" },
  delete: { symbol: "-", color: "red", verb: "will be deleted" },
};

export interface TextOptions {
  kinds: ReadonlyMap<string, KindInfo>;
  color?: boolean;
}

export function renderPlanText(plan: Plan, options: TextOptions): string {
  const paint = (color: Color, text: string) => (options.color ? styleText(color, text, { validateStream: false }) : text);
  const lines: string[] = [];
  const changes = plan.changes.filter((c) => c.action !== "noop");
  const outputs = plan.outputChanges ?? [];
  if (changes.length === 0 && outputs.length === 0) {
    lines.push(`No changes. Stack ${plan.stack} matches the program.`);
    return lines.join("\n");
  }
  if (changes.length === 0) {
    lines.push(`Stack ${plan.stack}: no resource changes.`, "", ...outputLines(outputs, paint), "");
    lines.push("Apply records the new output values in state, changing no resource.");
    return lines.join("\n");
  }
  lines.push(`Stack ${plan.stack}: virtform will perform these actions:`, "");
  for (const change of changes) {
    const style = SYMBOL[change.action];
    const kind = secretPaths(options.kinds.get(change.kind), change.secretPaths);
    const deposed = change.deposedId ? ` (deposed object ${change.deposedId})` : "";
    const where = change.source ? paint("gray", `  # ${formatSource(change.source)}`) : "";
    lines.push(`  ${paint(style.color, style.symbol)} ${paint("bold", change.address)}${deposed} ${style.verb}${where}`);
    if (change.action !== "create") lines.push(paint("gray", `      # ${compactReason(change)}`));
    const loss = dataLoss(change, options.kinds.get(change.kind));
    if (loss) lines.push(paint("red", `      # ${describeDataLoss(loss)}`));
    if (change.action === "create") {
      const after = change.after ?? {};
      for (const group of leafGroups(after)) {
        // A large map (an image's locked packages) reads better as a count than as a page of lines.
        if (group.parent && group.items.length > MAP_SUMMARY && group.items.every((i) => isScalar(i.value))) {
          lines.push(`      ${paint("green", "+")} ${group.parent} = {${group.items.length} entries}`);
          continue;
        }
        for (const { path, value } of group.items) lines.push(`      ${paint("green", "+")} ${path} = ${show(value, isSecretPath(path, kind))}`);
      }
    } else {
      lines.push(...fieldLines(change, kind, paint));
      const followers = changes.filter((other) => other !== change && followsChange(other, change));
      if (followers.length > 0) {
        lines.push(paint("gray", `      # replaces ${compactAddresses(followers.map((f) => f.address))}: their inputs follow this change`));
      }
    }
    lines.push("");
  }
  const s = summarize(plan);
  lines.push(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete` +
      (s.unchanged > 0 ? `; ${s.unchanged} unchanged.` : "."),
  );
  if (outputs.length > 0) lines.push("", ...outputLines(outputs, paint));
  return lines.join("\n");
}

/** Terraform's "Changes to Outputs:" block. */
function outputLines(changes: readonly OutputChange[], paint: Paint): string[] {
  const lines = ["Changes to Outputs:"];
  for (const c of changes) {
    if (c.action === "create") lines.push(`  ${paint("green", "+")} ${c.name} = ${show(c.after)}`);
    else if (c.action === "delete") lines.push(`  ${paint("red", "-")} ${c.name} = ${show(c.before)}`);
    else lines.push(`  ${paint("yellow", "~")} ${c.name} = ${show(c.before)} -> ${show(c.after)}`);
  }
  return lines;
}

const MAP_SUMMARY = 10;

interface Leaf {
  path: string;
  value: Value;
}

type Paint = (color: Color, text: string) => string;

/** Leaves grouped by their parent path ("locked.heavy.packages"), in first-seen order. */
function groupByParent<T extends { path: string }>(items: T[], roots: unknown[]): { parent: string; items: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const parent = parentPath(item.path, roots);
    // Top-level fields stay one group each so their order and format do not change.
    const key = parent === "" ? `\u0000${item.path}` : parent;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups].map(([key, list]) => ({ parent: key.startsWith("\u0000") ? "" : key, items: list }));
}

/**
 * A value's leaves grouped as groupByParent groups them, the parents taken from the walk itself
 * instead of searched for per leaf (a plan of thousands of creates renders every leaf).
 */
function leafGroups(value: Record<string, Value>): { parent: string; items: Leaf[] }[] {
  const groups: { parent: string; items: Leaf[] }[] = [];
  const byParent = new Map<string, Leaf[]>();
  const visit = (node: Record<string, Value>, prefix: string) => {
    for (const [key, item] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (typeof item === "object" && item !== null && !Array.isArray(item) && !isUnknown(item) && Object.keys(item).length > 0) {
        visit(item, path);
        continue;
      }
      // Top-level fields stay one group each so their order and format do not change.
      if (!prefix) {
        groups.push({ parent: "", items: [{ path, value: item }] });
        continue;
      }
      const items = byParent.get(prefix);
      if (items) items.push({ path, value: item });
      else {
        const group = { parent: prefix, items: [{ path, value: item }] };
        byParent.set(prefix, group.items);
        groups.push(group);
      }
    }
  };
  visit(value, "");
  return groups;
}

/**
 * The parent of a dotted path, found by walking the values: keys may contain dots themselves
 * ("libglib2.0-0"), so the last dot is not necessarily the boundary.
 */
function parentPath(path: string, roots: unknown[]): string {
  const walk = (node: unknown, rest: string, prefix: string): string | undefined => {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    if (Object.hasOwn(node, rest)) return prefix;
    for (const key of Object.keys(node)) {
      if (!rest.startsWith(`${key}.`)) continue;
      const found = walk((node as Record<string, unknown>)[key], rest.slice(key.length + 1), prefix ? `${prefix}.${key}` : key);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const root of roots) {
    const found = walk(root, path, "");
    if (found !== undefined) return found;
  }
  const dot = path.lastIndexOf(".");
  return dot < 0 ? "" : path.slice(0, dot);
}

function isScalar(v: Value | undefined): boolean {
  return v === undefined || v === null || typeof v !== "object";
}

function isMap(v: Value | undefined): v is Record<string, Value> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isUnknown(v);
}

/**
 * Changed fields as lines. Entries of a map that gain, lose or change keys are shown under their
 * map, one compact line each ("+ name value", "~ name before -> after"), as package lists read.
 */
function fieldLines(change: ResourceChange, kind: readonly string[], paint: Paint): string[] {
  const fields: PlannedField[] = change.fields;
  // A map that appears or disappears whole is listed entry by entry (or counted when large).
  const expanded = fields.flatMap((f) => {
    const whole = f.before === undefined && isMap(f.after) ? f.after : f.after === undefined && isMap(f.before) ? f.before : undefined;
    if (!whole) return [{ ...f, whole: false }];
    return flatten(whole, f.path).map(([path, value]) => ({
      path,
      before: f.before === undefined ? undefined : value,
      after: f.before === undefined ? value : undefined,
      behaviour: f.behaviour,
      whole: true,
    }));
  });
  const lines: string[] = [];
  for (const group of groupByParent(expanded, [change.after, change.before])) {
    const note = (f: PlannedField) =>
      paint(f.behaviour === "replace" ? "red" : "gray", f.behaviour === "replace" ? " (forces replacement)" : f.behaviour === "restart" ? " (needs restart)" : "");
    const keyed =
      group.parent !== "" &&
      group.items.every((f) => isScalar(f.before) && isScalar(f.after)) &&
      (group.items.length > 1 || group.items.some((f) => f.before === undefined || f.after === undefined));
    if (!keyed) {
      for (const f of group.items) {
        const secret = isSecretPath(f.path, kind);
        lines.push(`      ${paint("yellow", "~")} ${f.path}: ${show(f.before, secret)} -> ${show(f.after, secret)}${note(f)}`);
      }
      continue;
    }
    if (group.items.every((f) => f.whole)) {
      // A map that appeared or went whole reads as a create or delete does.
      const added = group.items[0]!.before === undefined;
      const sign = paint(added ? "green" : "red", added ? "+" : "-");
      if (group.items.length > MAP_SUMMARY) {
        lines.push(`      ${sign} ${group.parent} = {${group.items.length} entries}${note(group.items[0]!)}`);
      } else {
        for (const f of group.items) lines.push(`      ${sign} ${f.path} = ${show(added ? f.after : f.before, isSecretPath(f.path, kind))}${note(f)}`);
      }
      continue;
    }
    lines.push(`      ${paint("yellow", "~")} ${group.parent}:${note(group.items[0]!)}`);
    for (const f of group.items) {
      const key = f.path.slice(group.parent.length + 1);
      const secret = isSecretPath(f.path, kind);
      const bare = (v: Value | undefined) => (secret ? REDACTED : typeof v === "string" ? v : show(v));
      if (f.before === undefined) lines.push(`          ${paint("green", "+")} ${key} ${bare(f.after)}`);
      else if (f.after === undefined) lines.push(`          ${paint("red", "-")} ${key} ${bare(f.before)}`);
      else lines.push(`          ${paint("yellow", "~")} ${key} ${bare(f.before)} -> ${bare(f.after)}`);
    }
  }
  return lines;
}

/** The reason with each map's changed entries named once: "locked.heavy.packages (4 entries)". */
function compactReason(change: ResourceChange): string {
  let text = change.reasonText;
  for (const group of groupByParent(change.fields, [change.after, change.before])) {
    if (group.parent === "" || group.items.length < 2) continue;
    text = text.replace(group.items.map((f) => f.path).join(", "), `${group.parent} (${group.items.length} entries)`);
  }
  return text;
}

/**
 * Whether `other` is replaced because of `change`: one of its replacing fields is an input that
 * refers to `change`'s resource (an instance's image reference whose digest moved with the image).
 */
function followsChange(other: ResourceChange, change: ResourceChange): boolean {
  if (other.action !== "replace" || !other.template || !other.dependsOn.includes(change.address)) return false;
  return other.fields.some((f) => f.behaviour === "replace" && refersTo(other.template![f.path.split(".")[0]!], change.address));
}

function refersTo(value: unknown, address: string): boolean {
  if (typeof value !== "object" || value === null) return false;
  if ((value as { $ref?: unknown }).$ref === address) return true;
  return Object.values(value).some((v) => refersTo(v, address));
}

/** "instances.web/app[0..2], volume.x": members of a group folded into index ranges. */
function compactAddresses(addresses: string[]): string {
  const groups = new Map<string, number[]>();
  const order: string[] = [];
  for (const a of addresses) {
    const m = /^(.*)\[(\d+)\]$/.exec(a);
    const key = m ? m[1]! : a;
    if (!groups.has(key)) {
      groups.set(key, []);
      order.push(key);
    }
    if (m) groups.get(key)!.push(Number(m[2]));
  }
  return order
    .map((key) => {
      const idx = groups.get(key)!.sort((x, y) => x - y);
      if (idx.length === 0) return key;
      const contiguous = idx.every((n, i) => i === 0 || n === idx[i - 1]! + 1);
      return contiguous && idx.length > 1 ? `${key}[${idx[0]}..${idx[idx.length - 1]}]` : `${key}[${idx.join(",")}]`;
    })
    .join(", ");
}

/** Leaves of an object as "a.b" paths; arrays stay whole. */
function flatten(value: Record<string, Value>, prefix = ""): [string, Value][] {
  return Object.entries(value).flatMap(([key, item]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof item === "object" && item !== null && !Array.isArray(item) && !isUnknown(item) && Object.keys(item).length > 0) {
      return flatten(item, path);
    }
    return [[path, item] as [string, Value]];
  });
}

/** Changes made outside virtform since the last apply, shown before the plan's actions. */
export function renderDriftText(drift: Drift[], kinds: ReadonlyMap<string, KindInfo>, color = false): string {
  if (drift.length === 0) return "";
  const paint = (c: Color, text: string) => (color ? styleText(c, text, { validateStream: false }) : text);
  const lines = ["Objects changed outside virtform since the last apply:", ""];
  for (const d of drift) {
    if (d.change === "deleted") {
      lines.push(`  ${paint("red", "-")} ${d.address} was deleted outside virtform`);
      continue;
    }
    if (d.change === "unhealthy") {
      lines.push(`  ${paint("red", "!")} ${d.address} is unhealthy: ${d.reason}`);
      continue;
    }
    lines.push(`  ${paint("yellow", "~")} ${d.address} was changed outside virtform`);
    for (const f of redactedFields(d, kinds)) lines.push(`      ~ ${f.path}: ${show(f.before)} -> ${show(f.after)}`);
  }
  lines.push("");
  return lines.join("\n") + "\n";
}

export function show(value: Value | undefined, secret = false): string {
  if (value === undefined) return "(none)";
  if (secret) return REDACTED;
  if (isUnknown(value)) return "(known after apply)";
  if (typeof value !== "object" || value === null) return JSON.stringify(value); // no unknown inside: no replacer to call
  return JSON.stringify(value, (_k, v: unknown) => (isUnknown(v) ? "(known after apply)" : v));
}
