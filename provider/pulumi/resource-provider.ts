// What the plugin does for each Pulumi provider call, in wire values (Struct as JavaScript) in and
// out, with no gRPC: check with the kind's zod schema, diff with the engine's pure planResource,
// create/read/update/delete through the engine's Provider over a Backend (embedded or HTTP).
import { createHash } from "node:crypto";
import { UNKNOWN, isUnknown, type Value } from "../../core/model.ts";
import { planResource, type ResourceDecision } from "../../engine/plan-resource.ts";
import type { Provider } from "../../engine/provider.ts";
import { containsUnknown } from "../../core/values.ts";
import { kindInfo, kinds, secretPathsOf, type KindName } from "../../sdk/kinds/index.ts";
import { describeIssue, formatPath } from "../../sdk/evaluate.ts";
import { fillDefaults } from "./defaults.ts";
import { fromWire, toWire } from "./property-values.ts";
import { kindOfUrn, ownerOfUrn } from "./tokens.ts";

export type Wire = Record<string, unknown>;

export interface CheckFailure {
  /** Pulumi property path: "hosts.count", "devices[0].sizeGiB". */
  property: string;
  reason: string;
}

export type PropertyDiffKind = "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

export interface DiffResult {
  changes: boolean;
  /** Top-level properties whose change replaces the resource. */
  replaces: string[];
  /** Top-level properties that keep their value: Pulumi keeps them known in preview. */
  stables: string[];
  deleteBeforeReplace: boolean;
  /** Top-level properties that change. */
  diffs: string[];
  detailedDiff: Record<string, PropertyDiffKind>;
}

export class ResourceProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourceProviderError";
  }
}

export class PulumiResourceProvider {
  /** Set by Configure; Check and Diff never need it (preview does not reach the backend). */
  provider: Provider | undefined;
  /**
   * The object each URN has now, as Diff last saw it (Pulumi diffs every resource it holds before it
   * replaces one, in the same plugin process): a Create for such a URN makes its replacement.
   */
  private readonly current = new Map<string, string>();

  check(urn: string, news: Wire): { inputs: Wire; failures: CheckFailure[] } {
    const kind = kindOf(urn);
    const { values, secretPaths } = fromWire(news);
    const unknownPaths = pathsOfUnknowns(values);
    const parsed = kinds[kind].inputs.safeParse(values);
    if (parsed.success) return { inputs: toWire(parsed.data as Record<string, Value>, secretPaths), failures: [] };
    // An unknown value (preview) cannot be checked yet: only problems elsewhere are failures.
    const failures: CheckFailure[] = [];
    for (const issue of parsed.error.issues) {
      const paths = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
      for (const path of paths) {
        const property = formatPath(path);
        if (unknownPaths.some((u) => property === u || property.startsWith(`${u}.`) || property.startsWith(`${u}[`))) continue;
        // Pulumi prefixes the resource's name; the reason names the field, as virtform's own errors do.
        failures.push({ property, reason: `${property ? `${property}: ` : ""}${describeIssue(issue)}` });
      }
    }
    if (failures.length > 0) return { inputs: news, failures };
    const filled = fillDefaults(kinds[kind].inputs, values) as Record<string, Value>;
    return { inputs: toWire(filled, secretPaths), failures: [] };
  }

  diff(urn: string, oldInputs: Wire, news: Wire, ignoreChanges: readonly string[] = [], id = ""): DiffResult {
    const kind = kindOf(urn);
    if (id !== "") this.current.set(urn, id);
    const prior = fromWire(oldInputs).values;
    const desired = fromWire(news).values;
    const decision = planResource({ inputs: prior }, { inputs: desired }, kindInfo.get(kind)!, { ignoreChanges });
    return diffResult(decision, Object.keys(desired));
  }

  async create(urn: string, properties: Wire, preview: boolean): Promise<{ id: string; properties: Wire }> {
    const kind = kindOf(urn);
    const { values, secretPaths } = fromWire(properties);
    const secrets = secretPathsOf(kind, secretPaths);
    if (preview) return { id: "", properties: toWire({ ...values, ...unknownOutputs(kind) }, secrets) };
    const created = await this.backend().create(kind, values, { token: createToken(urn, values, this.current.get(urn)), ...ownerOfUrn(urn) });
    return { id: created.id, properties: toWire({ ...values, ...created.outputs }, secrets) };
  }

  /** Refresh (inputs given) and import (none): what the backend has now, or null when it is gone. */
  async read(urn: string, id: string, inputs: Wire, properties: Wire): Promise<{ id: string; properties: Wire; inputs: Wire } | null> {
    const kind = kindOf(urn);
    const observed = await this.backend().read(kind, id);
    if (!observed) return null;
    const secrets = secretPathsOf(kind, [...fromWire(inputs).secretPaths, ...fromWire(properties).secretPaths]);
    return {
      id,
      properties: toWire({ ...observed.inputs, ...observed.outputs }, secrets),
      inputs: toWire(observed.inputs, secrets),
    };
  }

  async update(urn: string, id: string, oldInputs: Wire, oldState: Wire, news: Wire, preview: boolean): Promise<Wire> {
    const kind = kindOf(urn);
    const prior = fromWire(oldInputs).values;
    const { values, secretPaths } = fromWire(news);
    const secrets = secretPathsOf(kind, secretPaths);
    if (preview) return toWire({ ...values, ...unknownOutputs(kind) }, secrets);
    const decision = planResource({ inputs: prior }, { inputs: values }, kindInfo.get(kind)!);
    const outputs = await this.backend().update(
      kind,
      { kind, id, inputs: prior, outputs: fromWire(oldState).values, dependsOn: [] },
      values,
      decision.action === "update-with-restart",
    );
    return toWire({ ...values, ...outputs }, secrets);
  }

  async delete(urn: string, id: string, oldInputs: Wire, oldState: Wire): Promise<void> {
    const kind = kindOf(urn);
    await this.backend().delete(kind, { kind, id, inputs: fromWire(oldInputs).values, outputs: fromWire(oldState).values, dependsOn: [] });
  }

  private backend(): Provider {
    if (!this.provider) throw new ResourceProviderError("the virtform provider is not configured (Configure was not called)");
    return this.provider;
  }
}

function kindOf(urn: string): KindName {
  const kind = kindOfUrn(urn);
  if (!kind) throw new ResourceProviderError(`virtform has no resource type for ${urn}`);
  return kind;
}

/**
 * The create's idempotency token: the same resource (URN) with the same inputs gets the same token,
 * so a create retried after a crash adopts what the first attempt made. A replacement has the URN of
 * the object it replaces, which may still exist (create before delete) with the same inputs
 * (`pulumi up --replace`, replaceOnChanges): the replaced object's id is part of its token, so it
 * makes a new object, and a retry of that replacement finds the one it made.
 */
export function createToken(urn: string, inputs: Record<string, Value>, replacing?: string): string {
  const hash = createHash("sha256").update(urn).update("\n").update(canonical(inputs));
  if (replacing !== undefined) hash.update("\nreplacing ").update(replacing);
  return `pulumi:${hash.digest("hex")}`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function unknownOutputs(kind: KindName): Record<string, Value> {
  return Object.fromEntries(Object.keys(kinds[kind].outputs.shape).map((field) => [field, UNKNOWN as unknown as Value]));
}

/** Dotted paths of the unknown values in `values` (an array holding one counts whole). */
function pathsOfUnknowns(value: unknown, path = "", into: string[] = []): string[] {
  if (isUnknown(value) || (Array.isArray(value) && containsUnknown(value))) into.push(path);
  else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) pathsOfUnknowns(item, path ? `${path}.${key}` : key, into);
  }
  return into;
}

function diffResult(decision: ResourceDecision, desiredKeys: string[]): DiffResult {
  const top = (path: string) => path.split(/[.[]/)[0]!;
  const changed = [...new Set(decision.fields.map((f) => top(f.path)))];
  const replacing = decision.action === "replace";
  const detailedDiff: Record<string, PropertyDiffKind> = {};
  for (const field of decision.fields) {
    const base = field.before === undefined ? "add" : field.after === undefined ? "delete" : "update";
    detailedDiff[field.path] = field.behaviour === "replace" ? `${base}-replace` : base;
  }
  return {
    changes: decision.action !== "noop",
    replaces: replacing ? [...new Set(decision.fields.filter((f) => f.behaviour === "replace").map((f) => top(f.path)))] : [],
    stables: replacing ? [] : desiredKeys.filter((key) => !changed.includes(key)),
    deleteBeforeReplace: replacing && decision.replaceOrder === "delete-before-create",
    diffs: changed,
    detailedDiff,
  };
}
