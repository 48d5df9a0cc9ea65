// What a Pulumi program registered, as the engine's desired resources: URN -> native-style address,
// inputs validated with the kind's zod schema (placeholders back to References; an input computed
// from an output not known yet defers its resource, deferred.ts), Pulumi's resource
// options as the engine's lifecycle options, dependencies (a component stands for the resources
// under it), image variants locked from virtform.lock as native programs are, and stack outputs.
import { relative } from "node:path";
import type { LifecycleOptions } from "../../core/lifecycle-options.ts";
import { isReference, isUnknown, type DesiredResource, type Diagnostic, type Reference, type SourceLocation, type Value } from "../../core/model.ts";
import { isSecretPath } from "../../core/secret-paths.ts";
import { collectReferences, containsUnknown } from "../../core/values.ts";
import { describeIssue, formatPath, type EvaluatedStack } from "../../sdk/evaluate.ts";
import { kindInfo, kinds, secretPathsOf, type KindName } from "../../sdk/kinds/index.ts";
import { addressOfUrn, kindOfToken } from "../../provider/pulumi/tokens.ts";
import { deferDependents, type Deferred } from "./deferred.ts";
import type { Registration } from "./monitor.ts";
import { restoreReferences, type Embedded } from "./placeholders.ts";

export interface PulumiStack extends EvaluatedStack {
  /** Each resource's component parents, innermost first ("shop (acme:Shop)"). */
  parents: Record<string, string[]>;
  /** Resources whose inputs are known only after other resources are applied: left out of `resources`. */
  deferred: Deferred[];
  /** Stack outputs known only after apply (computed from outputs not yet known). */
  unknownOutputs: string[];
}

export function desiredResources(
  name: string,
  registrations: readonly Registration[],
  stackOutputs: { values: Record<string, Value>; secretPaths: string[] },
): PulumiStack {
  const diagnostics: Diagnostic[] = [];
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const ours = registrations.filter((r) => r.custom && kindOfToken(r.type));
  const children = new Map<string, Registration[]>();
  for (const r of registrations) {
    const siblings = children.get(r.parent);
    if (siblings) siblings.push(r);
    else children.set(r.parent, [r]);
  }

  /** A URN as the addresses it stands for: a resource of ours itself, a component everything under it. */
  const addressesOf = (urn: string, seen = new Set<string>()): string[] => {
    const r = byUrn.get(urn);
    if (!r || seen.has(urn)) return [];
    seen.add(urn);
    if (r.custom) return kindOfToken(r.type) ? [addressOfUrn(urn)] : [];
    return (children.get(urn) ?? []).flatMap((child) => addressesOf(child.urn, seen));
  };

  for (const r of registrations) {
    if (r.type === "pulumi:providers:virtform") {
      diagnostics.push({ severity: "warning", address: r.name, ...source(r), message: "an explicit virtform provider's settings are not used here: virtform runs against its own backend (the embedded emulator, or --endpoint)" });
    } else if (r.custom && !kindOfToken(r.type)) {
      diagnostics.push({ severity: "error", address: r.name, ...source(r), message: `${r.type} is not a virtform resource type; virtform runs programs whose resources are virtform's (virtform/pulumi)` });
    }
  }

  const resources: DesiredResource[] = [];
  const deferred: Deferred[] = [];
  const seenAddress = new Map<string, Registration>();
  for (const r of ours) {
    const kind = kindOfToken(r.type)!;
    const address = addressOfUrn(r.urn);
    const where = { address, ...source(r) };
    const earlier = seenAddress.get(address);
    if (earlier) {
      diagnostics.push({ severity: "error", ...where, message: `two resources have the address ${address} (${earlier.urn} and ${r.urn}); give them different names` });
      continue;
    }
    seenAddress.set(address, r);
    const problems: Diagnostic[] = [];
    if (r.importId) {
      // Creating it instead would make a second object beside the one the program means.
      problems.push({ severity: "error", ...where, message: `the import option (${r.importId}) is not supported by virtform --pulumi: remove it, and adopt the object with \`virtform import\` from a native program or with \`pulumi import\`` });
    }
    // A program function was not run over an output not yet known (child-hooks.ts): the resource waits.
    const unknown = unknownPaths(r.inputs);
    if (kind === "Image" && r.inputs.locked !== undefined) {
      problems.push({ severity: "error", ...where, path: "locked", message: "locked is derived from virtform.lock by virtform; remove it from the program" });
    }
    const parsed = kinds[kind].inputs.safeParse(r.inputs);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.filter((i) => !unknown.some((u) => within(formatPath(i.path), u)))) {
        // An unknown field is named in the path, as the plugin's check failures name it.
        const paths = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
        for (const path of paths) {
          const given = valueAt(r.inputs, path);
          const output = typeof given === "string" ? restoreReferences(given) : undefined;
          const message =
            issue.code === "unrecognized_keys"
              ? "unknown field"
              : isReference(output)
                ? `takes ${output.$ref}'s ${output.path}, which is known only after apply; virtform plans with this field's value, so it must be known before (${describeIssue(issue)})`
                : describeIssue(issue);
          problems.push({ severity: "error", ...where, path: formatPath(path), message });
        }
      }
    }
    if (problems.length > 0 || (!parsed.success && unknown.length === 0)) {
      diagnostics.push(...problems);
      continue;
    }
    if (unknown.length > 0) {
      const from = (path: string) => [...new Set((r.propertyDependencies[path.split(/[.[]/)[0]!] ?? []).flatMap((urn) => addressesOf(urn)))];
      deferred.push({ address, kind, ...source(r), options: lifecycle(kind, r), unknown: unknown.map((path) => ({ path, from: from(path) })), waitsFor: [] });
      continue;
    }
    const embedded: Embedded[] = [];
    const inputs = restoreReferences(parsed.data as Value, embedded) as Record<string, Value | Reference>;
    for (const e of embedded) diagnostics.push({ severity: "error", ...where, path: e.path, message: computedMessage(e) });
    const references = collectReferences(inputs).map((ref) => ref.$ref);
    resources.push({
      address,
      kind,
      inputs,
      dependsOn: [...new Set([...r.dependencies.flatMap((urn) => addressesOf(urn)), ...references])].filter((a) => a !== address),
      options: lifecycle(kind, r),
      ...(r.source ? { source: sourceLocation(r.source) } : {}),
      ...secrets(r),
    });
  }

  // What takes an output of a deferred resource (or depends on one) waits for it too.
  const kept = deferDependents(resources, deferred);
  const embedded: Embedded[] = [];
  const outputs = restoreReferences(stackOutputs.values, embedded) as Record<string, Value>;
  const waiting = new Set(deferred.map((d) => d.address));
  const unknownOutputs = Object.keys(outputs).filter((key) => containsUnknown(outputs[key]) || collectReferences(outputs[key]).some((ref) => waiting.has(ref.$ref)));
  for (const e of embedded) diagnostics.push({ severity: "error", address: "outputs", path: e.path, message: computedMessage(e) });
  const byAddress = new Map(kept.map((r) => [r.address, r]));
  const secretOutputs = Object.keys(outputs).filter(
    (key) =>
      stackOutputs.secretPaths.some((p) => p === key || p.startsWith(`${key}.`)) ||
      collectReferences(outputs[key]).some((ref) => {
        const target = byAddress.get(ref.$ref);
        return target !== undefined && isSecretPath(ref.path, secretPathsOf(target.kind, target.secretPaths));
      }),
  );

  const parents: Record<string, string[]> = {};
  for (const r of ours) {
    const chain: string[] = [];
    for (let p = byUrn.get(r.parent); p && p.type !== "pulumi:pulumi:Stack"; p = byUrn.get(p.parent)) chain.push(`${p.name} (${p.type})`);
    if (chain.length > 0) parents[addressOfUrn(r.urn)] = chain;
  }
  return { name, resources: kept, outputs, secretOutputs, diagnostics, parents, deferred, unknownOutputs };
}

/** Inputs the program made secret, and outputs it asked to keep secret (additionalSecretOutputs). */
function secrets(r: Registration): { secretPaths?: string[] } {
  const paths = [...new Set([...r.secretPaths, ...r.additionalSecretOutputs])];
  return paths.length > 0 ? { secretPaths: paths } : {};
}

/** Whether `path` is `at` or inside it. */
const within = (path: string, at: string) => path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`);

/** Dotted paths of the unknown values inside inputs ("name", "hosts.count", "devices[0]"). */
function unknownPaths(value: unknown, path = ""): string[] {
  if (isUnknown(value)) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownPaths(item, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => unknownPaths(v, path ? `${path}.${k}` : k));
  return [];
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined), value);
}

function computedMessage(e: Embedded): string {
  return (
    `computed from ${e.reference ? `${e.reference.$ref}'s ${e.reference.path}` : "another resource's output"} outside apply (virtform's placeholder for it reached the value), ` +
    "which is known only after apply: compute it inside apply or interpolate, which virtform runs once the output is known, or pass the output as it is"
  );
}

/** Pulumi's options by the engine's names; the kind's own replace-on-change fields (the SDK adds them) are left out. */
function lifecycle(kind: KindName, r: Registration): LifecycleOptions {
  const info = kindInfo.get(kind)!;
  const replaceOnChanges = r.replaceOnChanges.filter((path) => info.changeBehaviour(path) !== "replace");
  return {
    ...(r.protect ? { protect: true } : {}),
    ...(r.ignoreChanges.length > 0 ? { ignoreChanges: r.ignoreChanges } : {}),
    ...(replaceOnChanges.length > 0 ? { replaceOnChanges } : {}),
    ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    ...(r.retainOnDelete ? { retainOnDelete: true } : {}),
  };
}

function sourceLocation(s: { file: string; line: number; column?: number }): SourceLocation {
  return { file: relative(process.cwd(), s.file) || s.file, line: s.line, ...(s.column ? { column: s.column } : {}) };
}

function source(r: Registration): { source?: SourceLocation } {
  return r.source ? { source: sourceLocation(r.source) } : {};
}

