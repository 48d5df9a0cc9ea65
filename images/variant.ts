// An image variant as the packages and config it asks for: the image's own with the variant's
// overlay applied. What the lockfile, the solver's requests and the digests start from.
import { createHash } from "node:crypto";
import { own } from "../core/own.ts";
import { isEmptyContents, mergeContents, type DeclaredContents, type VariantContents } from "./contents.ts";

export type ConfigValue = string | number | boolean;

/** What an image asks for (the Image kind's inputs, sdk/kinds/image.ts, have this shape). */
export interface ImageRequest extends DeclaredContents {
  base: string;
  packages: readonly string[];
  config: Record<string, ConfigValue>;
  variants: Record<string, DeclaredContents & { packages: readonly string[]; config: Record<string, ConfigValue> }>;
}

export interface ResolvedVariant {
  base: string;
  packages: string[];
  config: Record<string, ConfigValue>;
  /** Files, units, users and cloud-init; absent or empty when the image declares none. */
  contents?: VariantContents;
}

/** A variant as the image's packages and config with the variant's overlay applied; a variant's constraint on a package replaces the image's. */
export function resolveVariant(inputs: ImageRequest, variant: string): ResolvedVariant {
  const overlay = own(inputs.variants, variant);
  if (!overlay) throw new Error(`image has no variant ${variant}`);
  const byName = new Map<string, string>();
  for (const spec of [...inputs.packages, ...overlay.packages]) byName.set(packageName(spec), spec);
  return {
    base: inputs.base,
    packages: [...byName.values()].sort(),
    config: { ...inputs.config, ...overlay.config },
    contents: mergeContents(inputs, overlay),
  };
}

export function hasContents(variant: ResolvedVariant): variant is ResolvedVariant & { contents: VariantContents } {
  return variant.contents !== undefined && !isEmptyContents(variant.contents);
}

export function packageName(spec: string): string {
  return spec.split("(")[0]!.trim();
}

/** The content digest of a variant: same base, packages, config and contents, same digest. */
export function variantDigest(variant: ResolvedVariant): string {
  const config = Object.fromEntries(Object.entries(variant.config).sort(([a], [b]) => a.localeCompare(b)));
  // Contents enter only when declared, so a variant without any keeps the digest it always had.
  const contents = hasContents(variant) ? { contents: variant.contents } : {};
  const canonical = JSON.stringify({ base: variant.base, packages: variant.packages, config, ...contents });
  return `sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}
