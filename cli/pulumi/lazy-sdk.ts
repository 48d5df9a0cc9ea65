// What the Pulumi SDK loads at start and a program run by virtform never uses, loaded on first use
// instead (child-hooks.ts serves these sources in place of the SDK's files). The program's process
// spends most of its fixed cost resolving and compiling modules: these were 515 of its 600.
// Each transform is an exact text replacement of the pinned SDK's source; one that no longer matches
// leaves the file as it is (still correct, only slower), and test/pulumi/lazy-sdk.test.ts says so.

/**
 * A module's namespace, loaded on first access; `__esModule` is answered without loading (the SDK's
 * __importStar asks, and then takes the namespace as it is). A function declaration, so it can go at
 * the end of a file (after its "use strict").
 */
const LAZY_NAMESPACE = `
function __virtformLazy(load) {
  let mod;
  const real = () => (mod ??= load());
  return new Proxy({}, {
    get: (_, key) => (key === "__esModule" ? true : real()[key]),
    has: (_, key) => key in real(),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const found = Reflect.getOwnPropertyDescriptor(real(), key);
      return found && { ...found, configurable: true };
    },
  });
}
`;

interface Transform {
  /** The end of the file's URL. */
  file: string;
  /** Whether to apply it in this process (argv and environment of cmd/run). */
  applies?: () => boolean;
  /** The source with the change, or undefined when the SDK's source is no longer what it was written for. */
  apply: (source: string) => string | undefined;
}

/** Each pair's text replaced once, or undefined if one is missing. */
function replaceEach(source: string, pairs: [string, string][]): string | undefined {
  let out = source;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) return undefined;
    out = out.replace(from, to);
  }
  return out;
}

/** Each of the SDK's expressions (an exact `require(...)`, perhaps inside `__importStar(...)`), evaluated on first access. */
function lazyRequires(source: string, expressions: string[]): string | undefined {
  const changed = replaceEach(
    source,
    expressions.map((expression) => [expression, `__virtformLazy(() => ${expression})`]),
  );
  return changed === undefined ? undefined : changed + LAZY_NAMESPACE;
}

export const TRANSFORMS: Transform[] = [
  // The namespaces pulumi.automation (execa and the Automation API: stacks, workspaces, a gRPC
  // language server) and pulumi.provider (a provider's gRPC server): a program run by virtform
  // uses neither, but `import * as pulumi` loads both.
  {
    file: "/@pulumi/pulumi/index.js",
    apply: (source) => lazyRequires(source, ['__importStar(require("./automation"))', '__importStar(require("./provider"))']),
  },
  // semver's 47 files, for comparing provider versions and checking package.json's engines field.
  { file: "/@pulumi/pulumi/runtime/rpc.js", apply: (source) => lazyRequires(source, ['__importStar(require("semver"))']) },
  { file: "/@pulumi/pulumi/cmd/run/run.js", apply: (source) => lazyRequires(source, ['__importStar(require("semver"))']) },
  // OpenTelemetry's API: for a gRPC client's trace context, and for cmd/run's root context under TRACEPARENT.
  { file: "/@pulumi/pulumi/runtime/settings.js", apply: (source) => lazyRequires(source, ['require("@opentelemetry/api")']) },
  { file: "/@pulumi/pulumi/cmd/run/instrumentation.js", apply: (source) => lazyRequires(source, ['require("@opentelemetry/api")']) },
  // js-yaml, for a package.yaml (pnpm's alternative to package.json).
  { file: "/@pulumi/pulumi/runtime/manifest.js", apply: (source) => lazyRequires(source, ['__importStar(require("js-yaml"))']) },
  // Closure serialization (for dynamic providers and serializeFunction) and the code paths it packs
  // (normalize-package-data and its SPDX tables).
  {
    file: "/@pulumi/pulumi/runtime/index.js",
    apply: (source) =>
      replaceEach(source, [
        [
          'var serializeClosure_1 = require("./closure/serializeClosure");\nexports.serializeFunctionAsync = serializeClosure_1.serializeFunctionAsync;\nexports.serializeFunction = serializeClosure_1.serializeFunction;',
          'exports.serializeFunctionAsync = (...args) => require("./closure/serializeClosure").serializeFunctionAsync(...args);\nexports.serializeFunction = (...args) => require("./closure/serializeClosure").serializeFunction(...args);',
        ],
        [
          'var codePaths_1 = require("./closure/codePaths");\nexports.computeCodePaths = codePaths_1.computeCodePaths;',
          'exports.computeCodePaths = (...args) => require("./closure/codePaths").computeCodePaths(...args);',
        ],
      ]),
  },
  // cmd/run waits, before the program runs, for an inspector session with the debugger enabled, so
  // that closure serialization can map a function's script id to its file: each script parsed after
  // it is then also sent to that session (a sixth of the process's start). The session is opened on
  // first use instead, its listener added before Debugger.enable, which reports the scripts already
  // parsed, so the map is whole when serialization asks (the SDK's own missed those before it).
  {
    file: "/@pulumi/pulumi/runtime/closure/v8Hooks.js",
    apply: (source) =>
      replaceEach(source, [
        [
          `    const inspectorSession = new inspector.Session();
    inspectorSession.connect();`,
          `    const inspectorSession = new inspector.Session();
    inspectorSession.connect();
    inspectorSession.addListener("Debugger.scriptParsed", (event) => {
        const { scriptId, url } = event.params;
        scriptIdToUrlMap.set(scriptId, url);
    });`,
        ],
        [
          `async function isInitializedAsync() {
    await getSession();
}`,
          `async function isInitializedAsync() {}`,
        ],
      ]),
  },
  // cmd/run's Zipkin tracing (OpenTelemetry's SDK, exporters and gRPC instrumentation) is started
  // only by --tracing, which virtform never passes. Without it, newSpan makes the span the SDK's own
  // makes before start (its root span unset): under TRACEPARENT (cmd/run's instrumentation.js then
  // registers a tracer) the same call, else the API's non-recording span, made here without the API.
  {
    file: "/@pulumi/pulumi/cmd/run/tracing.js",
    applies: () => !process.argv.some((arg) => arg === "--tracing" || arg.startsWith("--tracing=")),
    apply: () => `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.start = () => {
  throw new Error("virtform bug: tracing started without --tracing");
};
exports.stop = () => {};
const NO_SPAN = {
  spanContext: () => ({ traceId: "00000000000000000000000000000000", spanId: "0000000000000000", traceFlags: 0 }),
  setAttribute() { return this; },
  setAttributes() { return this; },
  addEvent() { return this; },
  addLink() { return this; },
  addLinks() { return this; },
  setStatus() { return this; },
  updateName() { return this; },
  end() {},
  isRecording: () => false,
  recordException() {},
};
exports.newSpan = (name) => {
  if (!process.env.TRACEPARENT) return NO_SPAN;
  const opentelemetry = require("@opentelemetry/api");
  const tracer = opentelemetry.trace.getTracer("nodejs-runtime");
  const ctx = opentelemetry.trace.setSpan(opentelemetry.context.active(), opentelemetry.trace.getActiveSpan());
  return tracer.startSpan(name, undefined, ctx);
};
`,
  },
];

/** The source to load for url in place of source, or undefined to load it as it is. */
export function lazySource(url: string, source: string): string | undefined {
  const transform = TRANSFORMS.find((t) => url.endsWith(t.file));
  if (!transform || (transform.applies && !transform.applies())) return undefined;
  return transform.apply(source);
}
