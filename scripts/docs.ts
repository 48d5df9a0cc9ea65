// `npm run docs`: writes the generated reference docs/kinds.md from the kinds' schemas.
// `npm run docs -- --check` only says whether it is up to date (exit 1 when not), for CI.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { kindReference } from "../sdk/kinds/reference.ts";

const target = fileURLToPath(new URL("../docs/kinds.md", import.meta.url));
const text = kindReference();
let current: string | undefined;
try {
  current = readFileSync(target, "utf8");
} catch {
  current = undefined;
}
if (process.argv.includes("--check")) {
  if (current !== text) {
    process.stderr.write("docs/kinds.md is out of date: run npm run docs\n");
    process.exitCode = 1;
  }
} else if (current !== text) {
  writeFileSync(target, text);
  process.stdout.write("wrote docs/kinds.md\n");
} else {
  process.stdout.write("docs/kinds.md is up to date\n");
}
