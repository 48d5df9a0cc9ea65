// The image registry: each variant registered under its content digest.
import { resolveVariant, variantDigest } from "../sdk/kinds/image.ts";
import type { EmulatorContext } from "./context.ts";
import type { ImageObject } from "./data.ts";
import { conflict } from "./errors.ts";
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
    return {
      variants: Object.fromEntries(
        Object.entries(object.variants).map(([name, v]) => [name, { digest: v.digest, packages: v.packages }]),
      ),
    };
  },
};

function register(ctx: EmulatorContext, object: ImageObject): void {
  object.variants = Object.fromEntries(
    Object.keys(object.spec.variants).map((name) => {
      const variant = resolveVariant(object.spec, name);
      return [name, { digest: variantDigest(variant), packages: variant.packages, config: variant.config }];
    }),
  );
  ctx.event("image.registered", object.id, Object.keys(object.variants).join(", "));
}
