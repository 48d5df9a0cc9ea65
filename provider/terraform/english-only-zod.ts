// zod's entry point loads every one of its locales (z.locales, z.core.locales: some 60 modules) though
// only English, its default, is ever used: 10-15 ms of CPU in each launch that loads the kinds (the
// validating and the planning one of every plan, on Terraform's critical path). The plugin's process
// loads English alone in their place. Nothing in virtform reads z.locales; the English messages are
// zod's own (a test checks the plugin's diagnostics still carry them).
import * as nodeModule from "node:module";

const LOCALES_INDEX = "/node_modules/zod/v4/locales/index.js";

/** For this process, before zod loads: z.locales holds English only. */
export function englishOnlyZod(): void {
  // module.registerHooks came with Node 22.15 and 23.5: an older Node loads zod's locales, all of them.
  if (typeof nodeModule.registerHooks !== "function") return;
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      if (!url.endsWith(LOCALES_INDEX)) return nextLoad(url, context);
      return { format: "module", source: 'export { default as en } from "./en.js";', shortCircuit: true };
    },
  });
}
