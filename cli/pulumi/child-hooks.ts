// Loaded with --import into the Pulumi program's process: "virtform/pulumi" and "@pulumi/pulumi"
// resolve to virtform's own copies wherever the program lives (as `virtform` does for native
// programs), so the program, the generated SDK and cmd/run share one Pulumi runtime.
import { registerHooks } from "node:module";

const sdk = new URL("../../sdk/pulumi/index.ts", import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "virtform/pulumi") return { url: sdk, shortCircuit: true };
    if (specifier === "@pulumi/pulumi" || specifier.startsWith("@pulumi/pulumi/")) {
      return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    }
    return nextResolve(specifier, context);
  },
});
