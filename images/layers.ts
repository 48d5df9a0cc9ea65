// Layers of an image's variants: the base release's packages are the first layer; of the rest, the
// packages every variant has (same name and version) form one common layer, stored once; each
// variant's remainder is a layer on top. A layer is identified by a digest over its sorted package
// set, so identical bases, remainders (or identical images) share storage.
import { createHash } from "node:crypto";

export interface LayerPackage {
  name: string;
  version: string;
  /** Installed-Size, KiB. */
  installedKiB: number;
  /** One of the base release's packages: in the first layer. */
  base?: boolean;
}

export interface Layer {
  digest: string;
  /** Sorted "name=version". */
  packages: string[];
  sizeBytes: number;
}

export interface VariantLayers {
  /** Bottom first: the base layer, the common layer, then the variant's own (each absent when empty). */
  layers: string[];
  /** The digest of the base layer (the first), when the variant has the base's packages. */
  base?: string;
  sizeBytes: number;
}

export interface ImageLayers {
  layers: Record<string, Layer>;
  variants: Record<string, VariantLayers>;
  /** Bytes of layers used by more than one variant: stored once, counted in each variant's size. */
  sharedBytes: number;
  /** Bytes actually stored: each distinct layer once. */
  storedBytes: number;
  /** Sum of the variants' sizes, as if each were stored whole. */
  totalBytes: number;
}

export function layerOf(packages: readonly LayerPackage[]): Layer {
  const ids = packages.map((p) => `${p.name}=${p.version}`).sort();
  const digest = `sha256:${createHash("sha256").update(ids.join("\n")).digest("hex")}`;
  return { digest, packages: ids, sizeBytes: packages.reduce((sum, p) => sum + p.installedKiB * 1024, 0) };
}

export function computeLayers(variants: Record<string, readonly LayerPackage[]>): ImageLayers {
  const names = Object.keys(variants).sort();
  const key = (p: LayerPackage) => `${p.name}=${p.version}`;
  let common: Set<string> | undefined;
  for (const name of names) {
    const ids = new Set(variants[name]!.filter((p) => !p.base).map(key));
    common = common === undefined ? ids : new Set([...common].filter((id) => ids.has(id)));
  }
  const layers: Record<string, Layer> = {};
  const uses = new Map<string, number>();
  const out: Record<string, VariantLayers> = {};
  for (const name of names) {
    const base = variants[name]!.filter((p) => p.base);
    const pkgs = variants[name]!.filter((p) => !p.base);
    const stack: Layer[] = [];
    // One variant alone has no "common" part to share: its packages are one layer on the base.
    const shared = names.length > 1 ? pkgs.filter((p) => common!.has(key(p))) : [];
    const own = names.length > 1 ? pkgs.filter((p) => !common!.has(key(p))) : pkgs;
    const baseLayer = base.length > 0 ? layerOf(base) : undefined;
    if (baseLayer) stack.push(baseLayer);
    if (shared.length > 0) stack.push(layerOf(shared));
    if (own.length > 0) stack.push(layerOf(own));
    for (const layer of stack) {
      layers[layer.digest] = layer;
      uses.set(layer.digest, (uses.get(layer.digest) ?? 0) + 1);
    }
    out[name] = {
      layers: stack.map((l) => l.digest),
      ...(baseLayer ? { base: baseLayer.digest } : {}),
      sizeBytes: stack.reduce((sum, l) => sum + l.sizeBytes, 0),
    };
  }
  const sharedBytes = [...uses].filter(([, n]) => n > 1).reduce((sum, [d]) => sum + layers[d]!.sizeBytes, 0);
  const storedBytes = Object.values(layers).reduce((sum, l) => sum + l.sizeBytes, 0);
  const totalBytes = Object.values(out).reduce((sum, v) => sum + v.sizeBytes, 0);
  return { layers, variants: out, sharedBytes, storedBytes, totalBytes };
}

/** "372.9 MiB" */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
