// Runs a stack's build function and turns its declarations into the engine's DesiredResources:
// Outputs become references, image variants become {image, variant, digest}, inputs are validated
// against each kind's schema, and every problem is collected rather than thrown.
import { PROTO_KEY_REFUSED } from "../core/own.ts";
import type { z } from "zod";
import type { DesiredResource, Diagnostic, Reference, Value } from "../core/model.ts";
import { isSecretPath } from "../core/secret-paths.ts";
import { collectReferences } from "../core/values.ts";
import { secretPathsOf } from "./kinds/index.ts";
import type { Declaration } from "./declaration.ts";
import { type ImageInputs } from "./kinds/image.ts";
import { resolveVariant, variantDigest } from "../images/variant.ts";
import { ImageVariant } from "./resources.ts";
import { Output } from "./output.ts";
import { Secret } from "./secret.ts";
import { foreignHandles } from "./foreign-handles.ts";
import { foreignUseProblem } from "./stack-owner.ts";
import { describeValue } from "./names.ts";
import { describeThrown, thrownDiagnostic } from "./thrown.ts";
import { InvalidArgument, isPlainObject } from "./validate-args.ts";
import { StackBuilder, isStackDefinition, type StackDefinition } from "./stack.ts";

export interface EvaluatedStack {
  name: string;
  resources: DesiredResource[];
  outputs: Record<string, Value>;
  /** Paths of outputs that hold secrets: wrapped with secret(), or a secret field of a resource. */
  secretOutputs: string[];
  diagnostics: Diagnostic[];
}

/** Image variants come out unlocked (their digests cover the request); images/apply-lockfile.ts applies virtform.lock after. */
export function evaluateStack(definition: StackDefinition): EvaluatedStack {
  if (!isStackDefinition(definition)) throw new Error("not a stack definition: export default stack(name, build)");
  // A bad stack name or build is reported before anything runs: the name is also the state file's.
  if (definition.problems?.length) {
    return { name: definition.name, resources: [], outputs: {}, secretOutputs: [], diagnostics: [...definition.problems] };
  }
  const builder = new StackBuilder(definition.name);
  const diagnostics: Diagnostic[] = [];
  let returned: unknown;
  try {
    returned = definition.build(builder);
  } catch (err) {
    diagnostics.push(thrownDiagnostic("the program threw", err));
  }
  if (isThenable(returned)) {
    // What an async build declares after its first await would be lost: it must be synchronous.
    try {
      returned.then(undefined, () => undefined); // its rejection is part of this error, not a crash
    } catch {
      // a thenable of the program's own making
    }
    diagnostics.push({ severity: "error", message: "the build function returned a Promise: declare resources synchronously in stack(name, (s) => { ... })" });
    returned = undefined;
  }

  const parsedImages = new Map<string, ImageInputs>();
  const resources: DesiredResource[] = [];
  const declared = new Set(builder.declarations.map((d) => d.address));
  // Images first: instances need their parsed variants to compute digests.
  const ordered = [...builder.declarations].sort((a, b) => rank(a) - rank(b));
  for (const declaration of ordered) {
    const problems: Diagnostic[] = [...declaration.problems];
    const secrets: string[] = [];
    let parsed: unknown;
    try {
      const inputs = toValues(declaration.args, declaration, parsedImages, problems, "", secrets);
      parsed = validate(declaration, inputs, problems);
    } catch (err) {
      // a getter or proxy of the program's that throws while its arguments are read
      problems.push(problem(declaration, "", `reading its arguments threw: ${describeThrown(err)}`));
    }
    for (const dep of declaration.dependsOn) {
      if (!declared.has(dep)) problems.push(problem(declaration, "", `depends on ${dep}, which the program does not declare`));
    }
    diagnostics.push(...problems);
    if (problems.length > 0 || !parsed) continue;
    if (declaration.kind.name === "Image") {
      if (declaration.args.locked !== undefined) {
        diagnostics.push(problem(declaration, "locked", "locked is derived from virtform.lock by virtform; remove it from the program"));
        continue;
      }
      parsedImages.set(declaration.address, parsed as ImageInputs);
    }
    const references = collectReferences(parsed).map((r) => r.$ref);
    resources.push({
      address: declaration.address,
      kind: declaration.kind.name,
      inputs: parsed as Record<string, Value>,
      dependsOn: [...new Set([...declaration.dependsOn, ...references])],
      options: declaration.options,
      ...(declaration.source ? { source: declaration.source } : {}),
      ...(secrets.length > 0 ? { secretPaths: secrets } : {}),
    });
  }
  diagnostics.push(...builder.problems, ...crossResourceProblems(resources));

  const outputProblems: Diagnostic[] = foreignHandles(returned, builder).map((use) =>
    foreignUseProblem({ address: "outputs", owner: builder }, use),
  );
  const wrapped: string[] = [];
  let outputs: Record<string, Value> = {};
  try {
    if (isPlainObject(returned)) {
      outputs = (restoreReferences(toValues(returned, undefined, parsedImages, outputProblems, "", wrapped)) ?? {}) as Record<string, Value>;
      const notStorable = notJson(outputs, "");
      outputProblems.push(...notStorable);
      if (notStorable.length > 0) outputs = {};
    } else if (returned !== undefined && returned !== null) {
      outputProblems.push(problem(undefined, "", `the build function must return an object of named outputs, or nothing; it returned ${describeValue(returned)}`));
    }
  } catch (err) {
    outputProblems.push(problem(undefined, "", `reading the outputs threw: ${describeThrown(err)}`));
  }
  diagnostics.push(...outputProblems);
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const referencingSecrets = Object.keys(outputs).filter((name) =>
    collectReferences(outputs[name]).some((ref) => {
      const resource = byAddress.get(ref.$ref);
      return resource !== undefined && isSecretPath(ref.path, secretPathsOf(resource.kind, resource.secretPaths));
    }),
  );
  const secretOutputs = [...new Set([...wrapped, ...referencingSecrets])];
  // Keep program order for readability of plans.
  const position = new Map(builder.declarations.map((d, i) => [d.address, i]));
  resources.sort((a, b) => position.get(a.address)! - position.get(b.address)!);
  // Problems of the program as a whole (what it threw, its outputs) point at its stack() line.
  const located = diagnostics.map((d) => (d.source || !definition.source ? d : { ...d, source: definition.source }));
  return { name: definition.name, resources, outputs, secretOutputs, diagnostics: located };
}

function rank(declaration: Declaration): number {
  return declaration.kind.name === "Image" ? 0 : 1;
}

const PLACEHOLDER = "\u0000virtform-ref:";

/** Deeper than any real argument: a deeper value is a mistake (or a cycle), reported rather than overflowing the stack. */
const MAX_DEPTH = 64;

/** Converts DSL values to engine values; references become placeholders the schema accepts as strings. */
function toValues(
  value: unknown,
  declaration: Declaration | undefined,
  images: Map<string, ImageInputs>,
  problems: Diagnostic[],
  path: string,
  secrets?: string[],
  ancestors: object[] = [],
): unknown {
  if (typeof value !== "object" || value === null) return value; // most leaves: nothing to convert
  if (value instanceof Output) return PLACEHOLDER + JSON.stringify(value.toReference());
  if (value instanceof InvalidArgument) {
    problems.push(problem(declaration, path, value.message));
    return undefined;
  }
  if (ancestors.includes(value)) {
    problems.push(problem(declaration, path, "the value contains itself (a cycle); pass plain data"));
    return undefined;
  }
  if (ancestors.length >= MAX_DEPTH) {
    problems.push(problem(declaration, path, `the value is nested more than ${MAX_DEPTH} levels deep`));
    return undefined;
  }
  // One list of the values above, grown and shrunk as the walk goes down and back up (a copy per
  // level and item was most of this function's cost at thousands of resources).
  ancestors.push(value);
  try {
    return convert(value, declaration, images, problems, path, secrets, ancestors);
  } finally {
    ancestors.pop();
  }
}

/** toValues of an object: `value` is on top of `ancestors`. */
function convert(
  value: object,
  declaration: Declaration | undefined,
  images: Map<string, ImageInputs>,
  problems: Diagnostic[],
  path: string,
  secrets: string[] | undefined,
  ancestors: object[],
): unknown {
  const inner = (item: unknown, itemPath: string) => toValues(item, declaration, images, problems, itemPath, secrets, ancestors);
  if (value instanceof Secret) {
    // Arrays are compared and shown whole, so a secret inside one makes the whole array secret.
    secrets?.push(path.split("[")[0]!);
    return inner(value.value, path);
  }
  if (value instanceof ImageVariant) {
    const image = images.get(value.image.address);
    const variant = value.variant as unknown;
    if (typeof variant !== "string" || !value.image.variants.includes(variant)) {
      problems.push(
        problem(declaration, path, `${value.image.address} has no variant ${typeof variant === "string" ? `"${variant}"` : describeValue(variant)} (it has: ${value.image.variants.join(", ")})`),
      );
      return undefined;
    }
    if (!image) {
      // Not when the path has its problem already (an image of another stack is no invalid one).
      if (!problems.some((p) => p.path === path)) {
        problems.push(problem(declaration, path, `${value.image.address} is invalid, so its variant "${variant}" cannot be used`));
      }
      return undefined;
    }
    return {
      image: PLACEHOLDER + JSON.stringify(value.image.id.toReference()),
      variant,
      // The request's digest; the lockfile's, which covers the exact packages, replaces it after evaluation.
      digest: variantDigest(resolveVariant(image, variant)),
    };
  }
  if (Array.isArray(value)) return value.map((item, i) => inner(item, `${path}[${i}]`));
  if (!isPlain(value)) {
    problems.push(problem(declaration, path, `${describeValue(value)} cannot be used as a value here`));
    return undefined;
  }
  const symbols = Object.getOwnPropertySymbols(value);
  if (symbols.length > 0) {
    problems.push(problem(declaration, path, `${describeValue(symbols[0])} cannot be a field name: use strings`));
    return undefined;
  }
  if (Object.hasOwn(value, "__proto__")) {
    problems.push(problem(declaration, path ? `${path}.__proto__` : "__proto__", PROTO_KEY_REFUSED));
    return undefined;
  }
  // A loop rather than fromEntries(entries().map()): no pair per field of every resource. "__proto__"
  // was refused above, so assignment makes each key an own property, as fromEntries did.
  const copy: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) copy[k] = inner(record[k], path ? `${path}.${k}` : k);
  return copy;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Turns placeholders back into references after validation. Only what holds a placeholder is
 * copied: most values hold none, and the schema's output is a fresh value nobody else holds.
 */
function restoreReferences(value: unknown): unknown {
  if (typeof value === "string") return value.startsWith(PLACEHOLDER) ? (JSON.parse(value.slice(PLACEHOLDER.length)) as Reference) : value;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const restored = restoreReferences(value[i]);
      if (restored !== value[i]) (copy ??= [...value])[i] = restored;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  // Object.keys, not Object.entries: no array per field of every resource.
  for (const k of Object.keys(record)) {
    const v = record[k];
    const restored = restoreReferences(v);
    if (restored !== v) (copy ??= { ...record })[k] = restored;
  }
  return copy ?? value;
}

function validate(declaration: Declaration, inputs: unknown, problems: Diagnostic[]): unknown {
  if (problems.length > 0) return undefined;
  const result = declaration.kind.inputs.safeParse(inputs);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(problem(declaration, formatPath(issue.path), describeIssue(issue)));
    return undefined;
  }
  return restoreReferences(result.data);
}

export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  // A map's key that its key schema refuses: that schema's own words, not zod's "Invalid key in record".
  if (issue.code === "invalid_key" && issue.issues[0] !== undefined) return describeIssue(issue.issues[0]);
  return issue.message;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    "",
  );
}

function problem(declaration: Declaration | undefined, path: string, message: string): Diagnostic {
  return {
    severity: "error",
    message,
    ...(declaration ? { address: declaration.address } : { address: "outputs" }),
    ...(path ? { path } : {}),
    ...(declaration?.source ? { source: declaration.source } : {}),
  };
}

/** Rules that span resources: a volume that is not multi-attach may be attached once. */
function crossResourceProblems(resources: DesiredResource[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const volumes = new Map(resources.filter((r) => r.kind === "Volume").map((r) => [r.address, r]));
  const firstAttachment = new Map<string, DesiredResource>();
  for (const resource of resources) {
    if (resource.kind !== "Attachment") continue;
    const volumeAddress = (resource.inputs.volume as Reference).$ref;
    const target = volumes.get(volumeAddress);
    if (!target || target.inputs.multiAttach === true) continue;
    const first = firstAttachment.get(volumeAddress);
    if (!first) {
      firstAttachment.set(volumeAddress, resource);
      continue;
    }
    const firstInstance = (first.inputs.instance as Reference).$ref;
    problems.push({
      severity: "error",
      address: resource.address,
      path: "volume",
      ...(resource.source ? { source: resource.source } : {}),
      message: `${volumeAddress} is not multi-attach and is already attached to ${firstInstance}${first.source ? ` (at ${first.source.file}:${first.source.line})` : ""}; set multiAttach: true on the volume or attach it once`,
    });
  }
  return problems;
}

/** Outputs have no schema; they are kept in state as JSON, so every leaf must be a JSON value. */
function notJson(value: unknown, path: string): Diagnostic[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => notJson(item, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : notJson(v, path ? `${path}.${k}` : k)));
  }
  const fine = value === null || typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
  return fine ? [] : [problem(undefined, path, `${describeValue(value)} cannot be an output: use strings, finite numbers, booleans, lists and objects`)];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
  } catch {
    return false; // a proxy that refuses to be read is reported with the outputs
  }
}
