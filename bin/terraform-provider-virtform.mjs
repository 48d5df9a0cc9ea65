#!/usr/bin/env node
// The Terraform provider plugin for virtform (provider/terraform/plugin.ts); bin/terraform-provider-virtform
// is the executable Terraform looks for, a shell wrapper that starts this with a recent enough Node.
// V8's compile cache on disk makes the later of Terraform's several launches per command cheaper.
import { enableCompileCache } from "node:module";

enableCompileCache();
if (import.meta.url.includes("/node_modules/")) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { main } = await import("../provider/terraform/plugin.ts");
await main();
