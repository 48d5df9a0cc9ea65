// The schemas derived from the kinds (schema.ts, image-variant.ts) as `npm run gen:terraform` wrote
// them to schemas.json: a launch that serves the provider reads them instead of deriving them again
// (z.toJSONSchema of every kind: some 20 ms of each launch's start-up, on Terraform's critical path).
// The kinds stay the single source of truth: a test and `npm run gen:terraform -- --check` fail when
// the file is not what the derivation gives now.
import { readFileSync } from "node:fs";
import { imageVariantSchema, type DataSourceSchema } from "./image-variant.ts";
import { resourceSchemas, type ResourceSchema } from "./schema.ts";

export const SCHEMAS_FILE = new URL("./schemas.json", import.meta.url);

export interface Schemas {
  /** By Terraform type name ("virtform_volume"). */
  resources: Map<string, ResourceSchema>;
  imageVariant: DataSourceSchema;
}

/** Derived from the kinds now (the generator, and tests of the derivation). */
export function derivedSchemas(): Schemas {
  return { resources: resourceSchemas(), imageVariant: imageVariantSchema() };
}

export function schemasJson(schemas: Schemas): string {
  return `${JSON.stringify({ resources: Object.fromEntries(schemas.resources), imageVariant: schemas.imageVariant }, null, 1)}\n`;
}

/** As generated. */
export function readSchemas(): Schemas {
  const json = JSON.parse(readFileSync(SCHEMAS_FILE, "utf8")) as { resources: Record<string, ResourceSchema>; imageVariant: DataSourceSchema };
  return { resources: new Map(Object.entries(json.resources)), imageVariant: json.imageVariant };
}
