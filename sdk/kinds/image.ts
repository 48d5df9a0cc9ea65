import { z } from "zod";
import { BASE_NAMES } from "../../images/distributions.ts";
import { lockedInputsSchema } from "../../images/lockfile.ts";
import { defineKind } from "./kind.ts";
import { NAME } from "../names.ts";
import { contentFields, missingTemplateKeys } from "../../images/contents.ts";
import { hasContents, resolveVariant } from "../../images/variant.ts";
import { own } from "../../core/own.ts";

/** "tomcat10" or "openjdk-17-jre-headless (>= 17.0.14)": a Debian package with an optional constraint. */
export const packageSpec = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]+(\s*\((<<|<=|=|>=|>>)\s*[A-Za-z0-9.+~:-]+\))?$/,
    'expected a Debian package name, optionally with a constraint like "openjdk-17-jre-headless (>= 17.0.14)"',
  )
  .describe("A Debian package, optionally with a version constraint");

export const imageConfig = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/), z.union([z.string(), z.number(), z.boolean()]))
  .describe("Typed settings baked into the image, such as heapMiB or threadPool");

export const imageVariant = z
  .object({
    packages: z.array(packageSpec).default([]).describe("Packages added to (or constraints overriding) the image's packages"),
    config: imageConfig.default({}).describe("Settings overriding the image's config"),
    ...contentFields,
  })
  .strict();

const variantName = z.string().regex(NAME, "variant names are lower-case words like heavy or light");

export const image = defineKind({
  name: "Image",
  addressPrefix: "image",
  description: "A VM image: a base OS plus packages, with variants per usage profile.",
  inputs: z
    .object({
      base: z
        .enum(BASE_NAMES, { error: (issue) => `unknown base ${JSON.stringify(issue.input)}; known: ${BASE_NAMES.join(", ")}` })
        .describe("Base OS release; its essential and required packages are every variant's first layer"),
      packages: z.array(packageSpec).default([]).describe("Packages every variant contains"),
      config: imageConfig.default({}),
      ...contentFields,
      variants: z
        .record(variantName, imageVariant)
        .refine((v) => Object.keys(v).length > 0, "an image needs at least one variant")
        .describe("Named variants, each a package and config overlay on the image"),
      locked: z
        .record(variantName, lockedInputsSchema)
        .optional()
        .describe("Derived by virtform from virtform.lock, never written in programs: each locked variant's package set"),
    })
    .strict()
    .superRefine((inputs, ctx) => {
      // A template may read a key only some variants set: each variant's own config must have it.
      for (const variant of Object.keys(inputs.variants)) {
        const resolved = resolveVariant(inputs, variant);
        if (!hasContents(resolved)) continue;
        for (const [path, key] of missingTemplateKeys(resolved.contents, resolved.config)) {
          const own = templateOwner(inputs, variant, path);
          ctx.addIssue({ code: "custom", path: own, message: `{{${key}}} is not in variant ${variant}'s config` });
        }
      }
    }),
  outputs: z.object({
    variants: z
      .record(
        z.string(),
        z.object({
          digest: z.string().describe("The variant's digest: the same base, packages (the locked versions when locked), config and contents give the same digest; an instance's image reference carries it"),
          packages: z.array(z.string()).describe('"name=version" when locked, else the requested names'),
          layers: z.array(z.string()).default([]).describe("Layer digests, bottom first"),
          sizeBytes: z.number().default(0).describe("Installed size (sum of the packages' Installed-Size)"),
          build: z
            .object({
              digest: z.string().describe("The variant's image digest: its top layer's, covering the layers below, rendered files and setup"),
              built: z.boolean().describe("Whether the layer cache holds every layer (virtform images build)"),
              artifact: z.string().optional().describe("The top layer's qcow2; its backing chain is beside it in the layer cache"),
              storedBytes: z.number().optional().describe("Bytes the variant's layers take in the cache"),
              layers: z
                .array(z.object({ role: z.string(), digest: z.string(), storedBytes: z.number() }))
                .optional()
                .describe("The built layers, bottom first"),
            })
            .optional()
            .describe("The variant's built image, from the layer cache; absent until the variant is locked"),
        }),
      )
      .describe("Each variant's content digest, packages, layers and size"),
    layers: z
      .record(z.string(), z.object({ packages: z.array(z.string()), sizeBytes: z.number() }))
      .default({})
      .describe("The image's layers by digest, each stored once"),
    sharedBytes: z.number().default(0).describe("Bytes of layers shared by more than one variant"),
  }),
  change: {
    base: "in-place",
    packages: "in-place",
    config: "in-place",
    files: "in-place",
    units: "in-place",
    users: "in-place",
    cloudInit: "in-place",
    variants: "in-place",
    locked: "in-place",
  },
});

export type ImageInputs = z.output<typeof image.inputs>;

/** The field path of a resolved variant's template: the variant's own entry when it has one, else the image's. */
function templateOwner(inputs: ImageInputs, variant: string, path: string): (string | number)[] {
  const [field, key] = [path.slice(0, path.indexOf(".")), path.slice(path.indexOf(".") + 1, path.lastIndexOf("."))] as const;
  const overlay = own(inputs.variants, variant) as Record<string, Record<string, unknown>> | undefined;
  const inVariant = overlay?.[field] !== undefined && Object.hasOwn(overlay[field]!, key);
  return inVariant ? ["variants", variant, field, key, "template"] : [field, key, "template"];
}
