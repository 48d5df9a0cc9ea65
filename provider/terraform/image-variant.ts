// The data source virtform_image_variant: one built variant of an image, with its content digest and
// its closure (locked packages, layers, installed size), for an instance's image reference. Its
// arguments are the Instance kind's image reference (image, variant); its results are the Image
// kind's variant output, both derived from the zod kinds.
import type { Provider } from "../../engine/provider.ts";
import type { Value } from "../../core/model.ts";
import { kinds } from "../../sdk/kinds/index.ts";
import { kindJsonSchema, type JsonSchema } from "../kind-json-schema.ts";
import { fromPacked, toPacked } from "./codec.ts";
import { error } from "./diagnostics.ts";
import type { Packed } from "./msgpack.ts";
import { ResourceError } from "./resources.ts";
import { objectAttributes, PROVIDER } from "./schema.ts";
import type { Attribute, Shape } from "./shape.ts";

export const IMAGE_VARIANT = `${PROVIDER}_image_variant`;

export interface DataSourceSchema {
  description: string;
  attributes: Record<string, Attribute>;
}

let derived: DataSourceSchema | undefined;

/** Derived once per process: each ReadDataSource reads its values by it. */
export function imageVariantSchema(): DataSourceSchema {
  derived ??= deriveImageVariantSchema();
  return derived;
}

function deriveImageVariantSchema(): DataSourceSchema {
  const reference = (kindJsonSchema(kinds.Instance, "inputs", "input").properties as Record<string, JsonSchema>).image!;
  const argumentsOf = objectAttributes({ ...reference, properties: pick(reference.properties as JsonSchema, ["image", "variant"]) }, "input");
  const built = (kindJsonSchema(kinds.Image, "outputs", "output").properties as Record<string, JsonSchema>).variants!.additionalProperties as JsonSchema;
  const results = objectAttributes(built, "output");
  return {
    description: "One built variant of an image: its content digest and closure, for an instance's image reference.",
    attributes: {
      id: { field: "id", shape: { type: "string" }, description: "<image id>/<variant>", required: false, optional: false, computed: true, sensitive: false, hasDefault: false },
      ...argumentsOf,
      ...results,
    },
  };
}

/** The variant as the backend built it; a missing image or variant is an error on the argument. */
export async function readImageVariant(provider: Provider, config: Packed): Promise<Packed> {
  const schema = imageVariantSchema();
  const shape: Shape = { type: "object", attributes: schema.attributes };
  const { image, variant } = fromPacked(config, shape) as { image: string; variant: string };
  const observed = await provider.read("Image", image);
  if (!observed) throw new ResourceError(error("No such image", `the backend has no image with id ${JSON.stringify(image)}`, [{ attribute_name: "image" }]));
  const built = (observed.outputs.variants as Record<string, Record<string, Value>> | undefined)?.[variant];
  if (!built) {
    const names = Object.keys((observed.outputs.variants as object | undefined) ?? {}).join(", ");
    throw new ResourceError(error("No such variant", `image ${image} has no variant ${JSON.stringify(variant)} (it has ${names})`, [{ attribute_name: "variant" }]));
  }
  return toPacked({ id: `${image}/${variant}`, image, variant, ...built }, shape);
}

function pick(record: JsonSchema, keys: readonly string[]): JsonSchema {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keys.includes(key)));
}
