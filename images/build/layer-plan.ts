// Which layers each variant of an image is built from: the base release's packages, the packages
// every variant shares, and the variant's remainder plus its rendered files. A layer is named by a
// digest over what it adds, its parent's digest and how it is laid out, so the same layer of two
// builds (or two variants) is one entry in the cache and changing one variant's config changes
// only its own top layer.
import { createHash } from "node:crypto";
import type { LockedPackage } from "../lockfile.ts";
import { NO_SETUP, type LayerSetup, type RenderedFile } from "./config-render.ts";

/** Bumped when a change in how layers are built makes old cached layers wrong. */
export const LAYER_FORMAT = "ext4-qcow2-v2";

export type LayerRole = "base" | "common" | "variant";

export interface PlannedLayer {
  role: LayerRole;
  digest: string;
  parent?: string;
  /** "name=version", sorted: what this layer adds. */
  adds: string[];
  /** Every package the file system holds up to and including this layer, sorted "name=version". */
  cumulative: string[];
  files: RenderedFile[];
  /** Users to create and units to enable or disable (the variant layer's; none below it). */
  setup: LayerSetup;
}

export interface LayerDigestInput {
  parent: string | undefined;
  adds: readonly string[];
  files: readonly RenderedFile[];
  setup?: LayerSetup;
  sourceDateEpoch: number;
}

const isEmptySetup = (s: LayerSetup | undefined) => s === undefined || s.users.length + s.enable.length + s.disable.length === 0;

export function layerDigest(input: LayerDigestInput): string {
  const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const canonical = JSON.stringify({
    format: LAYER_FORMAT,
    parent: input.parent ?? null,
    packages: [...input.adds].sort(),
    // An owner or a setup enters only when there is one, so layers without them keep their digests.
    files: files.map((f) => [f.path, f.mode, f.content ?? null, f.symlink ?? null, ...(f.owner !== undefined ? [f.owner] : []), ...(f.edit !== undefined ? [{ edit: f.edit }] : [])]),
    ...(isEmptySetup(input.setup) ? {} : { setup: input.setup }),
    sourceDateEpoch: input.sourceDateEpoch,
  });
  return `sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}

const id = (p: LockedPackage) => `${p.name}=${p.version}`;

/**
 * Layers per variant, bottom first. The common layer holds the non-base packages every variant has
 * (absent with one variant, or when they share none); the variant's layer always exists, since it
 * carries the rendered files.
 */
export function planLayers(
  variants: Record<string, readonly LockedPackage[]>,
  files: Record<string, readonly RenderedFile[]>,
  sourceDateEpoch: number,
  setups: Record<string, LayerSetup> = {},
): Record<string, PlannedLayer[]> {
  const names = Object.keys(variants).sort();
  let common: Set<string> | undefined;
  for (const name of names) {
    const ids = new Set(variants[name]!.filter((p) => !p.base).map(id));
    common = common === undefined ? ids : new Set([...common].filter((x) => ids.has(x)));
  }
  const out: Record<string, PlannedLayer[]> = {};
  for (const name of names) {
    const pkgs = variants[name]!;
    const base = pkgs.filter((p) => p.base).map(id).sort();
    const rest = pkgs.filter((p) => !p.base).map(id);
    const shared = names.length > 1 ? rest.filter((x) => common!.has(x)).sort() : [];
    const own = rest.filter((x) => !shared.includes(x)).sort();
    const stack: PlannedLayer[] = [];
    const push = (role: LayerRole, adds: string[], layerFiles: readonly RenderedFile[], setup: LayerSetup) => {
      const parent = stack.at(-1);
      const cumulative = [...(parent?.cumulative ?? []), ...adds].sort();
      const digest = layerDigest({ parent: parent?.digest, adds, files: layerFiles, setup, sourceDateEpoch });
      stack.push({ role, digest, ...(parent ? { parent: parent.digest } : {}), adds, cumulative, files: [...layerFiles], setup });
    };
    push("base", base, [], NO_SETUP);
    if (shared.length > 0) push("common", shared, [], NO_SETUP);
    push("variant", own, files[name] ?? [], setups[name] ?? NO_SETUP);
    out[name] = stack;
  }
  return out;
}
