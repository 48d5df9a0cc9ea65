// Loaded with `node --import` into a plugin under test: appends the URL of every module the process
// loads to $VIRTFORM_MODULE_LOG, to tell what a launch pays for (test/terraform/handshake.test.ts).
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(process.env.VIRTFORM_MODULE_LOG, `${url}\n`);
    return nextLoad(url, context);
  },
});
