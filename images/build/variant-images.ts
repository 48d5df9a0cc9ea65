// The layer stacks an image's locked variants build into, computed from the Image's inputs alone
// (its locked package versions, config and declared contents), so `images build`, `plan` and the
// emulator's registry name the same layers. A variant's image digest is its top layer's digest: it
// covers every layer below, the rendered files and the setup.
import { resolveVariant, type ImageRequest } from "../variant.ts";

/** An image's inputs with what the lockfile pinned (the Image kind's inputs have this shape). */
export type LockedImageRequest = ImageRequest & { locked?: Record<string, LockedInputs> };
import type { LockedInputs, LockedPackage } from "../lockfile.ts";
import { contentsProblems, renderSetup, renderVariantFiles, type LayerSetup, type RenderedFile } from "./config-render.ts";
import { planLayers, type PlannedLayer } from "./layer-plan.ts";

/** SOURCE_DATE_EPOCH when the environment sets none: builds are reproducible by default (2024-01-01). */
export const DEFAULT_SOURCE_DATE_EPOCH = 1704067200;

/** A problem with one variant's contents: the field path under the image, and what is wrong. */
export interface VariantProblem {
  variant: string;
  path: string;
  message: string;
}

export type VariantStacks = { ok: true; stacks: Record<string, PlannedLayer[]> } | { ok: false; problems: VariantProblem[] };

/** The locked packages of a variant as the Image's inputs carry them (name -> version). */
function lockedPackages(locked: LockedInputs): Pick<LockedPackage, "name" | "version" | "base">[] {
  return [
    ...Object.entries(locked.base ?? {}).map(([name, version]) => ({ name, version, base: true as const })),
    ...Object.entries(locked.packages).map(([name, version]) => ({ name, version })),
  ];
}

/**
 * Every variant's stack; undefined unless every variant is locked (they share the common layer, so
 * one unlocked variant leaves the others' layers unknown).
 */
export function variantStacks(imageName: string, inputs: LockedImageRequest, epoch: number): VariantStacks | undefined {
  const locked = inputs.locked ?? {};
  const variants = Object.keys(inputs.variants);
  if (!variants.every((v) => Object.hasOwn(locked, v))) return undefined;
  const problems: VariantProblem[] = [];
  const files: Record<string, RenderedFile[]> = {};
  const setups: Record<string, LayerSetup> = {};
  const packages: Record<string, LockedPackage[]> = {};
  for (const variant of variants) {
    const entry = locked[variant]!;
    const pkgs = lockedPackages(entry);
    packages[variant] = pkgs as LockedPackage[]; // planLayers reads name, version and base only
    const { config, contents } = resolveVariant(inputs, variant);
    const names = pkgs.map((p) => p.name);
    const missing = contentsProblems(contents, names);
    for (const [path, message] of missing) problems.push({ variant, path, message });
    if (missing.length > 0) continue;
    try {
      files[variant] = renderVariantFiles({ image: imageName, variant, digest: entry.digest, config, packages: names, ...(contents ? { contents } : {}) });
      setups[variant] = renderSetup(contents);
    } catch (err) {
      problems.push({ variant, path: "config", message: (err as Error).message });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, stacks: planLayers(packages, files, epoch, setups) };
}

export function sourceDateEpochOf(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return DEFAULT_SOURCE_DATE_EPOCH;
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}
