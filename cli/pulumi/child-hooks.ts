// Loaded with --import into the Pulumi program's process: "virtform/pulumi" and "@pulumi/pulumi"
// resolve to virtform's own copies wherever the program lives (as `virtform` does for native
// programs), so the program, the generated SDK and cmd/run share one Pulumi runtime.
import { createRequire, registerHooks } from "node:module";

const sdk = new URL("../../sdk/pulumi/index.ts", import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "virtform/pulumi") return { url: sdk, shortCircuit: true };
    if (specifier === "@pulumi/pulumi" || specifier.startsWith("@pulumi/pulumi/")) {
      return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    }
    return nextResolve(specifier, context);
  },
  // cmd/run installs source-map-support, which then maps every stack trace the SDK takes (one per
  // resource and per internal promise): most of a large program's run time. Node's type stripping
  // keeps the program's lines and columns, so there is nothing to map.
  load(url, context, nextLoad) {
    if (url.endsWith("/source-map-support/register.js")) return { format: "commonjs", source: "", shortCircuit: true };
    return nextLoad(url, context);
  },
});

// The SDK finds a resource's source line in `new Error().stack`, but its pattern needs "at fn (file:line:col)";
// an ES module's top-level frame reads "at file:line:col". Accept both, so errors name the program's line.
const { Resource } = createRequire(import.meta.url)("@pulumi/pulumi/resource.js") as { Resource: { framePositionRegExp: RegExp } };
Resource.framePositionRegExp = /^\s*at (?:.* \()?(?<file>[^()\s]+):(?<line>[0-9]+):(?<column>[0-9]+)\)?$/;

// The SDK sends its debug lines (several per resource) to the engine one after another, each a gRPC
// round trip that virtform's engine would discard: they are dropped here, in the program's process.
const log = createRequire(import.meta.url)("@pulumi/pulumi/log/index.js") as { debug: (...args: unknown[]) => Promise<void> };
log.debug = () => Promise.resolve();

// Every internal promise of the SDK records the stack it was made at, for the leak report that
// PULUMI_DEBUG_PROMISE_LEAKS prints: dozens of stack traces per resource. Without that variable
// they are taken empty.
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
  const debuggable = createRequire(import.meta.url)("@pulumi/pulumi/runtime/debuggable.js") as { debuggablePromise: (...args: unknown[]) => unknown };
  const record = debuggable.debuggablePromise;
  debuggable.debuggablePromise = (...args: unknown[]) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return record(...args);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}
