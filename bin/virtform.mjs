#!/usr/bin/env node
// virtform's command line. The CLI is TypeScript that Node runs with its own type stripping
// (tsconfig's erasableSyntaxOnly keeps it strippable), and V8's compile cache on disk lets later
// runs skip compiling it. Node does not strip types under node_modules, so an installed copy of
// virtform registers tsx's loader first.
import { enableCompileCache } from "node:module";

enableCompileCache();
if (import.meta.url.includes("/node_modules/")) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
