#!/usr/bin/env node
// The Pulumi provider plugin for virtform (provider/pulumi/plugin.ts): the Pulumi engine starts it,
// reads the gRPC port from the first line of stdout, and drives it; logs go to stderr. Like
// bin/virtform.mjs, an installed copy registers tsx's loader (Node does not strip types under
// node_modules).
import { enableCompileCache } from "node:module";

enableCompileCache();
if (import.meta.url.includes("/node_modules/")) {
  const { register } = await import("tsx/esm/api");
  register();
}
// zod's locales but English load when first used, not at start (core/zod-locales.ts).
const { loadZodLocalesLazily } = await import("../core/zod-locales.ts");
loadZodLocalesLazily();
const { main } = await import("../provider/pulumi/plugin.ts");
await main();
