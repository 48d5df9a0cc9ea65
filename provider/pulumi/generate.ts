// `npm run gen:pulumi`: writes the Pulumi schema (provider/pulumi/schema.json) from the kinds and the
// typed SDK (sdk/pulumi/) from that schema. `--check` writes nothing and fails when a file is stale.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pulumiSchema } from "./schema.ts";
import { generateSdk } from "./sdk-codegen.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const schemaFile = join(root, "provider/pulumi/schema.json");
export const sdkDir = join(root, "sdk/pulumi");

/** Every generated file, by absolute path, with the contents it must have. */
export function generatedFiles(): Map<string, string> {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  const schema = pulumiSchema(version);
  const files = new Map<string, string>([[schemaFile, JSON.stringify(schema, null, 2) + "\n"]]);
  for (const [name, text] of generateSdk(schema)) files.set(join(sdkDir, name), text);
  return files;
}

/** The generated files whose checked-in contents differ from what the generator makes now. */
export function staleFiles(): string[] {
  return [...generatedFiles()].filter(([file, text]) => !existsSync(file) || readFileSync(file, "utf8") !== text).map(([file]) => file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes("--check")) {
    const stale = staleFiles();
    for (const file of stale) console.error(`out of date: ${file} (run npm run gen:pulumi)`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    mkdirSync(sdkDir, { recursive: true });
    for (const [file, text] of generatedFiles()) writeFileSync(file, text);
    console.log(`wrote ${schemaFile} and ${sdkDir}`);
  }
}
