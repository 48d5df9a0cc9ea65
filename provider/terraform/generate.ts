// `npm run gen:terraform`: compiles proto/*.proto into proto/descriptor.json, what the plugin loads,
// and writes from the kinds schemas.json, the schemas derived from them (schemas-file.ts), and
// fixed-replies.json, the replies the plugin gives before its service loads (fixed-replies.ts).
// `--check` writes nothing and fails when a file is stale.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { deriveFixedReplies, FIXED_REPLIES } from "./fixed-replies.ts";
import { DESCRIPTOR, loadMethods, PROTO_FILES } from "./protocol.ts";
import { providerService } from "./provider-service.ts";
import { derivedSchemas, SCHEMAS_FILE, schemasJson, type Schemas } from "./schemas-file.ts";
import { methodTable } from "./server.ts";

export function compileDescriptor(): string {
  const root = new protobuf.Root();
  root.loadSync(PROTO_FILES.map((file) => new URL(`./proto/${file}`, import.meta.url).pathname), { keepCase: true });
  return `${JSON.stringify(root.toJSON(), null, 1)}\n`;
}

/** The fixed replies of the service as the kinds and the descriptor on disk make it now. */
export function fixedReplies(schemas: Schemas = derivedSchemas()): Promise<string> {
  // Nothing here configures the provider or reads a working directory: the fixed replies depend on neither.
  const service = providerService({ cwd: "/nonexistent", owner: { stack: "terraform:/nonexistent", lineage: "terraform" } }, schemas);
  return deriveFixedReplies(methodTable(loadMethods(), service, () => undefined));
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const descriptor = compileDescriptor();
  if (!check) writeFileSync(DESCRIPTOR, descriptor);
  // The fixed replies are derived with the descriptor as now written.
  const schemas = derivedSchemas();
  const files = new Map([
    [DESCRIPTOR, descriptor],
    [SCHEMAS_FILE, schemasJson(schemas)],
    [FIXED_REPLIES, await fixedReplies(schemas)],
  ]);
  for (const [url, text] of files) {
    const stale = !existsSync(url) || readFileSync(url, "utf8") !== text;
    if (check && stale) {
      console.error(`out of date: ${fileURLToPath(url)} (run npm run gen:terraform)`);
      process.exitCode = 1;
    } else if (!check && stale) writeFileSync(url, text);
  }
}
