// Loaded with --import into the Pulumi program's process: "virtform/pulumi" and "@pulumi/pulumi"
// resolve to virtform's own copies wherever the program lives (as `virtform` does for native
// programs), imported or required, so the program, the generated SDK and cmd/run share one Pulumi
// runtime.
import { readFileSync, writeSync } from "node:fs";
import { createRequire, registerHooks } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LAZY_GRPC_SOURCE, LAZY_GRPC_URL, takesLazyGrpc } from "./lazy-grpc.ts";
import { lazySource } from "./lazy-sdk.ts";
import { usePipe } from "./pipe-client.ts";

const sdk = new URL("../../sdk/pulumi/index.ts", import.meta.url).href;
const ownRequire = createRequire(import.meta.url);
let resolvingOwn = false;
const pipeFd = process.env.VIRTFORM_PULUMI_PIPE_FD;

// The SDK loads TypeScript (9 MB) at start for runtime.serializeFunction, which virtform never
// calls: it is loaded on first use instead.
const LAZY_TYPESCRIPT = `let ts; module.exports = new Proxy({}, { get: (_, key) => (ts ??= require("typescript"))[key] });`;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "virtform/pulumi") return { url: sdk, shortCircuit: true };
    if (pipeFd && takesLazyGrpc(specifier, context.parentURL)) return { url: LAZY_GRPC_URL, format: "commonjs", shortCircuit: true };
    // Resolved from here by require.resolve (which comes through this hook again, then goes on):
    // require() ignores a parentURL changed for nextResolve.
    if (!resolvingOwn && (specifier === "@pulumi/pulumi" || specifier.startsWith("@pulumi/pulumi/"))) {
      resolvingOwn = true;
      try {
        return { url: pathToFileURL(ownRequire.resolve(specifier)).href, shortCircuit: true };
      } finally {
        resolvingOwn = false;
      }
    }
    return nextResolve(specifier, context);
  },
  // cmd/run installs source-map-support, which then maps every stack trace the SDK takes (one per
  // resource and per internal promise): most of a large program's run time. Node's type stripping
  // keeps the program's lines and columns, so there is nothing to map.
  load(url, context, nextLoad) {
    if (url === LAZY_GRPC_URL) return { format: "commonjs", source: LAZY_GRPC_SOURCE, shortCircuit: true };
    if (url.endsWith("/source-map-support/register.js")) return { format: "commonjs", source: "", shortCircuit: true };
    if (url.endsWith("/@pulumi/pulumi/typescript-shim.js")) return { format: "commonjs", source: LAZY_TYPESCRIPT, shortCircuit: true };
    const loaded = nextLoad(url, context);
    // What the SDK loads at start and virtform never uses is loaded on first use (lazy-sdk.ts).
    if ((loaded.format === undefined || loaded.format === "commonjs") && url.includes("/@pulumi/pulumi/")) {
      const source = lazySource(url, String(loaded.source ?? readFileSync(fileURLToPath(url), "utf8")));
      if (source !== undefined) return { ...loaded, source };
    }
    return loaded;
  },
});

// The monitor's calls go over a pipe, not gRPC (pipe-client.ts), when virtform opened one.
// The SDK's gRPC is then loaded only if something other than those calls uses it (lazy-grpc.ts).
if (pipeFd) usePipe(Number(pipeFd));

// The SDK finds a resource's source line in `new Error().stack`, but its pattern needs "at fn (file:line:col)";
// an ES module's top-level frame reads "at file:line:col". Accept both, so errors name the program's line.
const { Resource } = createRequire(import.meta.url)("@pulumi/pulumi/resource.js") as {
  Resource: { framePositionRegExp: RegExp; callsites: () => { file?: string; line?: number; column?: number }[] };
};
Resource.framePositionRegExp = /^\s*at (?:.* \()?(?<file>[^()\s]+):(?<line>[0-9]+):(?<column>[0-9]+)\)?$/;

// The SDK takes each resource's whole stack (every frame formatted, parsed and sent); virtform reads
// only the program's frame, the 6th: callsites, stackTrace, Resource, CustomResource or
// ComponentResource, the resource's class, the program. The stack is taken that deep, not whole.
const STACK_DEPTH = 6;
Resource.callsites = () => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_DEPTH;
  try {
    return (new Error().stack ?? "")
      .split("\n")
      .slice(1)
      .map((frame) => {
        const { file, line, column } = Resource.framePositionRegExp.exec(frame)?.groups ?? {};
        if (!file || !line || !column || file.startsWith("node:")) return {};
        return { file, line: Number(line), column: Number(column) };
      });
  } finally {
    Error.stackTraceLimit = limit;
  }
};

// The SDK sends its debug lines (several per resource) to the engine one after another, each a gRPC
// round trip that virtform's engine would discard: they are dropped here, in the program's process.
const log = createRequire(import.meta.url)("@pulumi/pulumi/log/index.js") as { debug: (...args: unknown[]) => Promise<void> };
log.debug = () => Promise.resolve();

// Every internal promise of the SDK records the stack it was made at, an id and a context, and gets
// two more promises chained on, for the leak report that PULUMI_DEBUG_PROMISE_LEAKS prints: dozens
// per resource. Without that variable a promise is only tracked while it is pending, one promise
// chained on: a program that ends with a resource still waiting (a dependsOn cycle) is still
// reported, from the SDK's own record of pending registrations.
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
  const debuggable = createRequire(import.meta.url)("@pulumi/pulumi/runtime/debuggable.js") as { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
  const state = createRequire(import.meta.url)("@pulumi/pulumi/runtime/state.js") as { getStore(): { leakCandidates: Set<Promise<unknown>> } };
  const record = debuggable.debuggablePromise;
  let first = true;
  debuggable.debuggablePromise = (p, ctx) => {
    // The SDK's own, once: it sets up the report at exit.
    if (first) {
      first = false;
      return record(p, ctx);
    }
    const pending = state.getStore().leakCandidates;
    pending.add(p);
    return p.then(
      (value) => {
        pending.delete(p);
        return value;
      },
      (err: unknown) => {
        pending.delete(p);
        if (typeof err === "object" && err !== null) (err as { promise?: unknown }).promise = p;
        throw err;
      },
    );
  };
}

// virtform answers the outputs of a resource it has not applied yet with placeholders (placeholders.ts):
// passed on as they are, they become the engine's references. A program function (apply, interpolate,
// all().apply) cannot compute from a placeholder: it is not run, and its result is unknown, as in a
// Pulumi preview. The resource that takes it is deferred to a later pass, once what it reads exists.
// Each skipped function is told to virtform (fd VIRTFORM_PULUMI_SKIPS_FD): a skipped function may
// register resources, so the program's full set of resources is known only once none is skipped.
const output = createRequire(import.meta.url)("@pulumi/pulumi/output.js") as {
  Output: { prototype: { apply: (this: unknown, func: (value: unknown) => unknown, runWithUnknowns?: boolean) => unknown } };
  unknown: unknown;
};
const skipsFd = Number(process.env.VIRTFORM_PULUMI_SKIPS_FD ?? Number.NaN);
const PLACEHOLDER = "\u0000virtform-pulumi-ref:";
/** Whether a value an output holds is, or holds, a placeholder (plain objects and arrays only: never a Resource). */
function holdsPlaceholder(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.startsWith(PLACEHOLDER);
  if (depth > 20 || typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => holdsPlaceholder(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value).some((item) => holdsPlaceholder(item, depth + 1));
}
/**
 * Whether apply was called by the SDK's own plumbing (stack outputs, dependsOn, aliases), which
 * passes values along without computing from them; concat and interpolate compute, and are skipped.
 */
function calledByPlumbing(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 3; // this function, apply, its caller
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return /@pulumi\/pulumi\/(?:runtime\/stack|runtime\/dependsOn|resource)\.js:/.test(stack);
}
const apply = output.Output.prototype.apply;
output.Output.prototype.apply = function (func, runWithUnknowns) {
  // The SDK's own property lifts (output.field) run with unknowns: they only read, so they read placeholders too.
  if (runWithUnknowns || calledByPlumbing()) return apply.call(this, func, runWithUnknowns);
  return apply.call(this, (value: unknown) => {
    if (!holdsPlaceholder(value)) return func(value);
    if (Number.isInteger(skipsFd)) writeSync(skipsFd, "s");
    return output.unknown;
  });
};
