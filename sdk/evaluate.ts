// Runs a stack's build function and turns its declarations into the engine's DesiredResources:
// Outputs become references, image variants become {image, variant, digest}, inputs are validated
// against each kind's schema, and every problem is collected rather than thrown.
import type { z } from "zod";
import type { DesiredResource, Diagnostic, Reference, Value } from "../engine/model.ts";
import { withArticle } from "../engine/render/article.ts";
import { isSecretPath } from "../engine/render/redact.ts";
import { collectReferences } from "../engine/values.ts";
import { secretPathsOf } from "./kinds/index.ts";
import type { Declaration } from "./declaration.ts";
import { resolveVariant, variantDigest, type ImageInputs, type ResolvedVariant } from "./kinds/image.ts";
import { lockedInputs, type LockedVariant } from "./lock.ts";
import { ImageVariant } from "./resources.ts";
import { Output } from "./output.ts";
import { Secret } from "./secret.ts";
import { foreignHandles } from "./foreign-handles.ts";
import { foreignUseProblem } from "./stack-owner.ts";
import { StackBuilder, isStackDefinition, type StackDefinition } from "./stack.ts";

export interface EvaluatedStack {
  name: string;
  resources: DesiredResource[];
  outputs: Record<string, Value>;
  /** Paths of outputs that hold secrets: wrapped with secret(), or a secret field of a resource. */
  secretOutputs: string[];
  diagnostics: Diagnostic[];
}

export interface EvaluateOptions {
  /** The locked package set of an image variant (from virtform.lock, or resolved live), if any. */
  lockedVariant?: (address: string, variant: string, spec: ResolvedVariant) => LockedVariant | undefined;
}

export function evaluateStack(definition: StackDefinition, options: EvaluateOptions = {}): EvaluatedStack {
  if (!isStackDefinition(definition)) throw new Error("not a stack definition: export default stack(name, build)");
  const builder = new StackBuilder(definition.name);
  const diagnostics: Diagnostic[] = [];
  let returned: unknown;
  try {
    returned = definition.build(builder);
  } catch (err) {
    diagnostics.push({ severity: "error", message: `the program threw: ${(err as Error).stack ?? String(err)}` });
  }

  const parsedImages = new Map<string, ImageInputs>();
  const resources: DesiredResource[] = [];
  const declared = new Set(builder.declarations.map((d) => d.address));
  // Images first: instances need their parsed variants to compute digests.
  const ordered = [...builder.declarations].sort((a, b) => rank(a) - rank(b));
  for (const declaration of ordered) {
    const problems: Diagnostic[] = [...declaration.problems];
    const secrets: string[] = [];
    const inputs = toValues(declaration.args, declaration, parsedImages, problems, "", secrets);
    const parsed = validate(declaration, inputs, problems);
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
      addLocked(declaration.address, parsed as ImageInputs, options);
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
  const outputs =
    returned && typeof returned === "object"
      ? (restoreReferences(toValues(returned, undefined, parsedImages, outputProblems, "", wrapped)) as Record<string, Value>)
      : {};
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
  return { name: definition.name, resources, outputs, secretOutputs, diagnostics };
}

/** Puts each locked variant's package set into the image's inputs, so plans diff it package by package. */
function addLocked(address: string, image: ImageInputs, options: EvaluateOptions): void {
  if (!options.lockedVariant) return;
  const locked: NonNullable<ImageInputs["locked"]> = {};
  for (const variant of Object.keys(image.variants)) {
    const entry = options.lockedVariant(address, variant, resolveVariant(image, variant));
    if (entry) locked[variant] = lockedInputs(entry);
  }
  if (Object.keys(locked).length > 0) image.locked = locked;
}

function rank(declaration: Declaration): number {
  return declaration.kind.name === "Image" ? 0 : 1;
}

const PLACEHOLDER = "\u0000virtform-ref:";

/** Converts DSL values to engine values; references become placeholders the schema accepts as strings. */
function toValues(
  value: unknown,
  declaration: Declaration | undefined,
  images: Map<string, ImageInputs>,
  problems: Diagnostic[],
  path: string,
  secrets?: string[],
): unknown {
  if (value instanceof Output) return PLACEHOLDER + JSON.stringify(value.toReference());
  if (value instanceof Secret) {
    // Arrays are compared and shown whole, so a secret inside one makes the whole array secret.
    secrets?.push(path.split("[")[0]!);
    return toValues(value.value, declaration, images, problems, path, secrets);
  }
  if (value instanceof ImageVariant) {
    const image = images.get(value.image.address);
    if (!value.image.variants.includes(value.variant)) {
      problems.push(
        problem(declaration, path, `${value.image.address} has no variant "${value.variant}" (it has: ${value.image.variants.join(", ")})`),
      );
      return undefined;
    }
    if (!image) {
      // Not when the path has its problem already (an image of another stack is no invalid one).
      if (!problems.some((p) => p.path === path)) {
        problems.push(problem(declaration, path, `${value.image.address} is invalid, so its variant "${value.variant}" cannot be used`));
      }
      return undefined;
    }
    return {
      image: PLACEHOLDER + JSON.stringify(value.image.id.toReference()),
      variant: value.variant,
      // The locked digest covers the exact packages; without a lock only the request is known.
      digest: image.locked?.[value.variant]?.digest ?? variantDigest(resolveVariant(image, value.variant)),
    };
  }
  if (Array.isArray(value)) return value.map((item, i) => toValues(item, declaration, images, problems, `${path}[${i}]`, secrets));
  if (typeof value === "object" && value !== null) {
    if (!isPlain(value)) {
      problems.push(problem(declaration, path, `${withArticle(value.constructor?.name ?? "object")} cannot be used as a value here`));
      return undefined;
    }
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, toValues(v, declaration, images, problems, path ? `${path}.${k}` : k, secrets)]),
    );
  }
  return value;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Turns placeholders back into references after validation. */
function restoreReferences(value: unknown): unknown {
  if (typeof value === "string" && value.startsWith(PLACEHOLDER)) return JSON.parse(value.slice(PLACEHOLDER.length)) as Reference;
  if (Array.isArray(value)) return value.map(restoreReferences);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreReferences(v)]));
  }
  return value;
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
