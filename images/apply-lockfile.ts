// The lockfile applied to an evaluated program, in one pass over its resources: every image
// variant is looked up in virtform.lock (or resolved live, see LockContext), each image's inputs get
// its locked package sets, and every use of a variant (an instance's `image`, an output) gets the
// locked digest in place of the digest of the request. The program itself runs once.
import { isReference, type DesiredResource, type Value } from "../core/model.ts";
import { resolveVariant, variantDigest, type ImageRequest } from "./variant.ts";
import type { LockContext } from "./lock-context.ts";
import { lockedInputs, type LockedInputs } from "./lockfile.ts";

/** An Image resource's inputs: what it asks for, and (set here) its locked package sets. */
type ImageInputs = ImageRequest & { locked?: Record<string, LockedInputs> };

export interface EvaluatedProgram {
  resources: DesiredResource[];
  outputs?: Record<string, Value>;
}

/**
 * `live: false` leaves what the lockfile does not answer unresolved (with a warning) instead of
 * resolving it against a package catalog. Problems are collected in `locks.errors` and `locks.warnings`.
 */
export async function applyLockfile(program: EvaluatedProgram, locks: LockContext, options: { live?: boolean } = {}): Promise<void> {
  const images = program.resources.filter((r) => r.kind === "Image");
  const lookUpAll = () =>
    images.map((r) => {
      const inputs = r.inputs as unknown as ImageInputs;
      return { resource: r, inputs, entries: Object.keys(inputs.variants).map((variant) => [variant, locks.lookup(r.address, variant, resolveVariant(inputs, variant))] as const) };
    });
  lookUpAll();
  if (locks.needsLiveResolution) {
    if (options.live === false) locks.leaveUnresolved("this command resolves no packages");
    else await locks.resolvePending();
  }
  // The lookups are memoized: this second round reads what the first decided and what was resolved live.
  const digests = new Map<string, { unlocked: string; locked: string }>();
  for (const { resource, inputs, entries } of lookUpAll()) {
    const locked: Record<string, LockedInputs> = {};
    for (const [variant, entry] of entries) {
      if (!entry) continue;
      locked[variant] = lockedInputs(entry);
      digests.set(`${resource.address}\u0000${variant}`, { unlocked: variantDigest(resolveVariant(inputs, variant)), locked: entry.digest });
    }
    if (Object.keys(locked).length > 0) inputs.locked = locked;
  }
  if (digests.size === 0) return;
  for (const resource of program.resources) resource.inputs = withLockedDigests(resource.inputs, digests) as typeof resource.inputs;
  if (program.outputs) program.outputs = withLockedDigests(program.outputs, digests) as Record<string, Value>;
}

/**
 * A copy of `value` where each image variant the evaluator wrote ({image: reference to the image's
 * id, variant, digest of the request}) carries the locked digest instead.
 */
function withLockedDigests(value: unknown, digests: ReadonlyMap<string, { unlocked: string; locked: string }>): unknown {
  if (Array.isArray(value)) return value.map((item) => withLockedDigests(item, digests));
  if (typeof value !== "object" || value === null || isReference(value)) return value;
  const record = value as Record<string, unknown>;
  const { image, variant, digest } = record;
  if (Object.keys(record).length === 3 && isReference(image) && image.path === "id" && typeof variant === "string") {
    const known = digests.get(`${image.$ref}\u0000${variant}`);
    if (known && digest === known.unlocked) return { ...record, digest: known.locked };
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, withLockedDigests(v, digests)]));
}
