// What the Pulumi program's process loads of the SDK only on first use (cli/pulumi/lazy-sdk.ts):
// each transform still matches the installed SDK's source, and in a process with virtform's hooks
// the SDK starts without those modules (nor gRPC, when the monitor's calls go over the pipe) yet
// still gives them when a program asks.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { TRANSFORMS } from "../../cli/pulumi/lazy-sdk.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const sdkFile = (file: string) => createRequire(import.meta.url).resolve(file.replace(/^\//, ""));
const sdkDir = sdkFile("@pulumi/pulumi/package.json").replace(/[\\/]package\.json$/, "");
const childHooks = new URL("../../cli/pulumi/child-hooks.ts", import.meta.url).href;

describe("the SDK's modules loaded on first use", () => {
  it.each(TRANSFORMS.map((t) => [t.file, t] as const))("%s: the transform matches the installed SDK", (_file, transform) => {
    const source = readFileSync(sdkFile(transform.file), "utf8");
    const changed = transform.apply(source);
    expect(changed).toBeTypeOf("string");
    expect(changed).not.toBe(source);
  });

  it("a process with virtform's hooks starts without them, and a program that asks still gets them", () => {
    const dir = makeWorkdir("virtform-lazy-sdk-");
    try {
      const script = join(dir, "probe.cjs");
      writeFileSync(
        script,
        `const sdk = (file) => require(${JSON.stringify(sdkDir)} + file);
const pulumi = sdk("/index.js");
const tracing = sdk("/cmd/run/tracing.js");
sdk("/runtime/closure/v8Hooks.js").isInitializedAsync().then(async () => {
  const loaded = () => Object.keys(require.cache).filter((f) => /automation[\\\\/]index|semver[\\\\/]index|js-yaml[\\\\/]index|opentelemetry[\\\\/]api[\\\\/]build[\\\\/]src[\\\\/]index|provider[\\\\/]server|closure[\\\\/]codePaths|exporter-zipkin|sdk-trace-node/.test(f)).map((f) => f.split("node_modules").pop());
  // cmd/run's spans without --tracing or TRACEPARENT: non-recording, as OpenTelemetry's API makes them.
  const span = tracing.newSpan("language-runtime.run").addEvent("x");
  span.end();
  const recording = span.isRecording();
  const atStart = loaded();
  const grpcLoaded = () => Object.keys(require.cache).some((f) => /@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/]index\.js$/.test(f));
  const grpcAtStart = grpcLoaded();
  // What the SDK's modules get for @grpc/grpc-js: the stand-in, whose status codes need no gRPC.
  const grpc = require("node:module").createRequire(${JSON.stringify(sdkDir)} + "/index.js")("@grpc/grpc-js");
  const unavailable = grpc.status.UNAVAILABLE;
  const grpcAfterStatus = grpcLoaded();
  // A client the pipe does not replace is a real one, with real insecure credentials, made on use.
  const { CallbacksClient } = sdk("/proto/callback_grpc_pb.js");
  const callbacks = new CallbacksClient("127.0.0.1:1", grpc.credentials.createInsecure());
  const client = callbacks instanceof grpc.Client;
  callbacks.close();
  const server = typeof grpc.Server;
  const answer = () => 42;
  const serialized = await pulumi.runtime.serializeFunction(answer);
  const location = await sdk("/runtime/closure/v8.js").getFunctionLocationAsync(answer);
  console.log(JSON.stringify({
    atStart,
    recording,
    automation: typeof pulumi.automation.LocalWorkspace,
    provider: typeof pulumi.provider.main,
    serialized: serialized.text.includes("42"),
    file: location.file,
    afterUse: loaded(),
    grpc: [grpcAtStart, unavailable, grpcAfterStatus, client, server, grpcLoaded()],
  }));
});
`,
      );
      // As virtform runs a program: the monitor's calls over a pipe (fd 3 here; nothing is called).
      const run = spawnSync(process.execPath, ["--import", childHooks, script], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, VIRTFORM_PULUMI_PIPE_FD: "3" },
        stdio: ["ignore", "pipe", "pipe", "pipe"],
      });
      expect(run.stderr).toBe("");
      const out = run.stdout;
      expect(JSON.parse(out)).toEqual({
        atStart: [],
        recording: false,
        automation: "function",
        provider: "function",
        serialized: true,
        // The inspector session opened on first use still maps a script parsed before it to its file.
        file: pathToFileURL(script).href,
        // Loaded only for what the monitor's pipe does not replace (here another client, a server).
        grpc: [false, 14, false, true, "function", true],
        afterUse: expect.arrayContaining(["/@pulumi/pulumi/automation/index.js", "/@pulumi/pulumi/provider/server.js"]),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
