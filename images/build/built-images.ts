// What the layer cache holds of an image's variants: for each, its image digest (top layer), whether
// that layer is built, and when it is, the artifact (the top layer's qcow2, whose backing chain is
// beside it in the cache) with every layer's size. The emulator's image registry and `plan` both
// read it, so both say the same about what is built.
import type { LockedImageRequest } from "./variant-images.ts";
import { cachedLayer, defaultCacheDir, layerImage } from "./layer-cache.ts";
import { variantStacks, sourceDateEpochOf } from "./variant-images.ts";

export interface BuiltVariant {
  digest: string;
  built: boolean;
  /** Layers the cache lacks, bottom first (all of them when none is built). */
  missing: string[];
  artifact?: string;
  storedBytes?: number;
  layers?: { role: string; digest: string; storedBytes: number }[];
}

/** The build state of each variant; empty when the image is not fully locked or its contents cannot render (plan says why). */
export function builtVariants(imageName: string, inputs: LockedImageRequest, env: NodeJS.ProcessEnv = process.env, cache = defaultCacheDir(env)): Record<string, BuiltVariant> {
  const epoch = sourceDateEpochOf(env);
  const planned = epoch === undefined ? undefined : variantStacks(imageName, inputs, epoch);
  if (!planned?.ok) return {};
  const out: Record<string, BuiltVariant> = {};
  for (const [variant, stack] of Object.entries(planned.stacks)) {
    const records = stack.map((l) => cachedLayer(cache, l.digest));
    const top = stack.at(-1)!;
    const missing = stack.filter((_, i) => records[i] === undefined).map((l) => l.digest);
    if (missing.length > 0) {
      out[variant] = { digest: top.digest, built: false, missing };
      continue;
    }
    const layers = stack.map((l, i) => ({ role: l.role, digest: l.digest, storedBytes: records[i]!.storedBytes }));
    out[variant] = {
      digest: top.digest,
      built: true,
      missing: [],
      artifact: layerImage(cache, top.digest),
      storedBytes: layers.reduce((sum, l) => sum + l.storedBytes, 0),
      layers,
    };
  }
  return out;
}
