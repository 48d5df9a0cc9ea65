// The image registry: each variant registered under its content digest, its packages stored as
// layers by digest (the base release's packages, then the closure common to all variants once, each
// variant's remainder on top). What `virtform images build` built is read from the layer cache
// whenever the image is read: each variant's image digest, and once built its artifact and layers.
import { resolveVariant, variantDigest } from "../images/variant.ts";
import type { EmulatorContext } from "./context.ts";
import type { ImageObject } from "./data.ts";
import { conflict } from "./errors.ts";
import { builtVariants, type BuiltVariant } from "../images/build/built-images.ts";
import { computeLayers, type LayerPackage } from "../images/layers.ts";
import type { ObjectService } from "./service.ts";

export const imageService: ObjectService<"images"> = {
  collection: "images",
  idPrefix: "img",
  create(ctx, object) {
    register(ctx, object);
  },
  update(ctx, object, spec) {
    object.spec = spec;
    register(ctx, object);
  },
  delete(ctx, object) {
    const users = Object.values(ctx.data.instances).filter((i) => i.spec.image.image === object.id);
    if (users.length > 0) throw conflict(`image ${object.name} is used by ${users.map((i) => i.name).join(", ")}`);
  },
  outputs(_ctx, object) {
    const built = builtImages(object);
    return {
      variants: Object.fromEntries(
        Object.entries(object.variants).map(([name, v]) => {
          const b = built[name];
          const build = b ? { digest: b.digest, built: b.built, ...(b.built ? { artifact: b.artifact, storedBytes: b.storedBytes, layers: b.layers } : {}) } : undefined;
          return [name, { digest: v.digest, packages: v.packages, layers: v.layers ?? [], sizeBytes: v.sizeBytes ?? 0, ...(build ? { build } : {}) }];
        }),
      ),
      layers: object.layers ?? {},
      sharedBytes: object.sharedBytes ?? 0,
    };
  },
  // Each variant keeps its resolved config: the image's config overlaid with the variant's.
  secretCopies(object, specPaths) {
    return specPaths.flatMap((path) => {
      const shared = /^config\.(.+)$/.exec(path);
      if (shared) return Object.keys(object.variants ?? {}).map((variant) => `variants.${variant}.config.${shared[1]}`);
      const own = /^variants\.([^.]+)\.config\.(.+)$/.exec(path);
      return own ? [`variants.${own[1]}.config.${own[2]}`] : [];
    });
  },
};

/** The variants' builds in the layer cache (none for an image not fully locked). */
export function builtImages(object: ImageObject): Record<string, BuiltVariant> {
  return builtVariants(object.name.replace(/^image\./, ""), object.spec);
}

function register(ctx: EmulatorContext, object: ImageObject): void {
  Object.assign(object, imageRegistration(object.spec));
  ctx.event("image.registered", object.id, Object.keys(object.variants).join(", "));
}

/** What registering an image records: each variant's digest, packages and layers, the layers, the shared bytes. Pure: the libvirt backend registers images with it too. */
export function imageRegistration(spec: ImageObject["spec"]): Pick<ImageObject, "variants" | "layers" | "sharedBytes"> {
  const locked = spec.locked ?? {};
  // A variant without a lock entry has only its requested names: no versions, so no layers.
  const contents: Record<string, LayerPackage[]> = {};
  for (const [name, entry] of Object.entries(locked)) {
    if (!(name in spec.variants)) continue;
    const layer = (packages: Record<string, string>, base: boolean) =>
      Object.entries(packages).map(([pkg, version]) => ({ name: pkg, version, installedKiB: entry.installedKiB[pkg] ?? 0, base }));
    contents[name] = [...layer(entry.base ?? {}, true), ...layer(entry.packages, false)];
  }
  const layered = computeLayers(contents);
  const variants = Object.fromEntries(
    Object.keys(spec.variants).map((name) => {
      const variant = resolveVariant(spec, name);
      const entry = locked[name];
      const layers = layered.variants[name];
      if (!entry || !layers) {
        return [name, { digest: variantDigest(variant), packages: variant.packages, config: variant.config }];
      }
      const packages = Object.entries({ ...entry.base, ...entry.packages })
        .map(([pkg, version]) => `${pkg}=${version}`)
        .sort();
      return [name, { digest: entry.digest, packages, config: variant.config, layers: layers.layers, sizeBytes: layers.sizeBytes }];
    }),
  );
  const layers = Object.fromEntries(
    Object.entries(layered.layers).map(([digest, layer]) => [digest, { packages: layer.packages, sizeBytes: layer.sizeBytes }]),
  );
  return { variants, layers, sharedBytes: layered.sharedBytes };
}
