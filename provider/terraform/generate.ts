// `npm run gen:terraform`: compiles proto/*.proto into proto/descriptor.json, what the plugin loads.
import { writeFileSync } from "node:fs";
import protobuf from "protobufjs";
import { DESCRIPTOR, PROTO_FILES } from "./protocol.ts";

export function compileDescriptor(): string {
  const root = new protobuf.Root();
  root.loadSync(PROTO_FILES.map((file) => new URL(`./proto/${file}`, import.meta.url).pathname), { keepCase: true });
  return `${JSON.stringify(root.toJSON(), null, 1)}\n`;
}

if (import.meta.main) writeFileSync(DESCRIPTOR, compileDescriptor());
