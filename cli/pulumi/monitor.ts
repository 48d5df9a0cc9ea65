// virtform's own Pulumi resource monitor and engine, served over gRPC to one run of a Pulumi program
// (@pulumi/pulumi/cmd/run). It records what the program registers and answers each registration
// with what `answer` says; it performs nothing itself. Written on the proto stubs @pulumi/pulumi
// ships, with the grpc-js they resolve, so messages and server are one version.
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import type * as grpcTypes from "@grpc/grpc-js";
import { fromWire, toWire } from "../../provider/pulumi/property-values.ts";
import { emptyProto, grpc, grpcError, pulumiProto, structProto, type Call, type Callback, type Message } from "../../provider/pulumi/sdk-proto.ts";
import type { Value } from "../../core/model.ts";

import { frameReader, readRequest, replyFrame } from "./pipe-frames.ts";
import { registerReplyBytes } from "./register-reply.ts";

const REGISTER_RESOURCE = "/pulumirpc.ResourceMonitor/RegisterResource";

interface ServiceMethod {
  path: string;
  requestDeserialize(bytes: Buffer): Message;
  responseSerialize(message: Message): Buffer;
}

const resourceServices = pulumiProto("./resource_grpc_pb.js");
const engineServices = pulumiProto("./engine_grpc_pb.js");
const resourceProto = pulumiProto("./resource_pb.js");
const engineProto = pulumiProto("./engine_pb.js");

/** One RegisterResource call, unpacked. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  /** The parent's URN; empty for the stack itself. */
  parent: string;
  custom: boolean;
  /** Inputs as engine values (Pulumi's unknown marker already UNKNOWN); secrets unwrapped. */
  inputs: Record<string, Value>;
  secretPaths: string[];
  /** URNs this resource depends on: dependsOn and those its inputs came from. */
  dependencies: string[];
  /** Per input: the URNs its value came from. */
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
  additionalSecretOutputs: string[];
  /** The `import` option: adopt this existing object. */
  importId: string;
  source?: { file: string; line: number; column?: number };
}

export interface LogEntry {
  severity: "debug" | "info" | "warning" | "error";
  message: string;
  urn: string;
}

export interface MonitorOptions {
  project: string;
  stack: string;
  dryRun: boolean;
  /** What a registered resource reports back to the program: its id and its properties. */
  answer: (registration: Registration) => { id: string; properties: Record<string, Value>; secretPaths?: string[] };
  onLog?: (entry: LogEntry) => void;
}

export interface Monitor {
  address: string;
  registrations: Registration[];
  /** The stack's outputs (RegisterResourceOutputs on the root stack resource). */
  stackOutputs: { values: Record<string, Value>; secretPaths: string[] };
  logs: LogEntry[];
  /** Serves the same calls over a pipe to the program's process (pipe-client.ts there). */
  servePipe(pipe: Duplex): void;
  close(): Promise<void>;
}

const SEVERITY = ["debug", "info", "warning", "error"] as const;

/** Pulumi's URN for a resource: the type is qualified by the parent's type chain (the stack's excepted). */
export function urnOf(project: string, stack: string, type: string, name: string, parentUrn: string): string {
  const parentType = parentUrn ? parentUrn.split("::")[2] ?? "" : "";
  const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

export async function startMonitor(options: MonitorOptions): Promise<Monitor> {
  const registrations: Registration[] = [];
  const logs: LogEntry[] = [];
  const stackOutputs = { values: {} as Record<string, Value>, secretPaths: [] as string[] };
  let rootResource = "";
  const struct = (m: Message | undefined): Record<string, unknown> => (m ? (m.toJavaScript() as Record<string, unknown>) : {});

  const handle =
    (fn: (request: Message) => Message) =>
    (call: Call, callback: Callback): void => {
      try {
        callback(null, fn(call.request));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        callback(grpcError(grpc.status.UNKNOWN, message));
      }
    };
  const unimplemented = (what: string) => (_call: Call, callback: Callback) => {
    const message = `virtform's resource monitor does not implement ${what}`;
    callback(grpcError(grpc.status.UNIMPLEMENTED, message));
  };

  /** One RegisterResource call: recorded, and what the program gets back (properties as wire values). */
  const register = (request: Message): { urn: string; id: string; properties: Record<string, unknown> } => {
    const { values, secretPaths } = fromWire(struct(request.getObject()));
    const position = request.getSourceposition();
    const registration: Registration = {
      urn: urnOf(options.project, options.stack, request.getType(), request.getName(), request.getParent()),
      type: request.getType(),
      name: request.getName(),
      parent: request.getParent(),
      custom: request.getCustom(),
      inputs: values,
      secretPaths,
      dependencies: request.getDependenciesList(),
      propertyDependencies: propertyDependencies(request),
      protect: request.getProtect() === true,
      ignoreChanges: request.getIgnorechangesList(),
      replaceOnChanges: request.getReplaceonchangesList(),
      deleteBeforeReplace: request.getDeletebeforereplace() === true,
      retainOnDelete: request.getRetainondelete() === true,
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
      importId: request.getImportid(),
      ...(position?.getUri() ? { source: { file: filePath(position.getUri()), line: position.getLine(), column: position.getColumn() } } : {}),
    };
    registrations.push(registration);
    if (registration.type === "pulumi:pulumi:Stack" || !registration.custom) return { urn: registration.urn, id: "", properties: {} };
    const answer = options.answer(registration);
    return { urn: registration.urn, id: answer.id, properties: toWire(answer.properties, [...secretPaths, ...(answer.secretPaths ?? [])]) };
  };

  const monitor = {
    supportsFeature: handle((request) => {
      const reply = new resourceProto.SupportsFeatureResponse();
      reply.setHassupport(request.getId() === "secrets");
      return reply;
    }),
    getDeploymentInfo: handle(() => {
      const reply = new resourceProto.DeploymentInfo();
      reply.setProject(options.project);
      reply.setStack(options.stack);
      reply.setDryrun(options.dryRun);
      reply.setSupportedfeaturesList([resourceProto.ResourceMonitorFeature.RESOURCE_MONITOR_FEATURE_SECRETS]);
      return reply;
    }),
    registerResource: handle((request) => {
      const { urn, id, properties } = register(request);
      const reply = new resourceProto.RegisterResourceResponse();
      reply.setUrn(urn);
      if (id) reply.setId(id);
      reply.setObject(structProto.Struct.fromJavaScript(properties));
      return reply;
    }),
    registerResourceOutputs: handle((request) => {
      if (request.getUrn() === rootResource || request.getUrn().split("::")[2] === "pulumi:pulumi:Stack") {
        Object.assign(stackOutputs, fromWire(struct(request.getOutputs())));
      }
      return new emptyProto.Empty();
    }),
    readResource: unimplemented("ReadResource (Resource.get): virtform plans from its own state"),
    invoke: unimplemented("Invoke"),
    call: unimplemented("Call"),
    supportsFeatureV2: unimplemented("SupportsFeatureV2"),
    registerStackTransform: unimplemented("transforms"),
    registerStackInvokeTransform: unimplemented("transforms"),
    registerResourceHook: unimplemented("resource hooks"),
    registerErrorHook: unimplemented("error hooks"),
    registerPackage: unimplemented("RegisterPackage"),
    signalAndWaitForShutdown: handle(() => new emptyProto.Empty()),
  };

  const engine = {
    log: handle((request) => {
      const entry: LogEntry = { severity: SEVERITY[request.getSeverity()] ?? "info", message: request.getMessage(), urn: request.getUrn() };
      logs.push(entry);
      options.onLog?.(entry);
      return new emptyProto.Empty();
    }),
    getRootResource: handle(() => {
      const reply = new engineProto.GetRootResourceResponse();
      reply.setUrn(rootResource);
      return reply;
    }),
    setRootResource: handle((request) => {
      rootResource = request.getUrn();
      return new engineProto.SetRootResourceResponse();
    }),
    startDebugging: handle(() => new emptyProto.Empty()),
    requirePulumiVersion: handle(() => new engineProto.RequirePulumiVersionResponse()),
  };

  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(resourceServices.ResourceMonitorService, monitor as unknown as grpcTypes.UntypedServiceImplementation);
  server.addService(engineServices.EngineService, engine as unknown as grpcTypes.UntypedServiceImplementation);
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : done(p))),
  );
  const byPath = new Map<string, { method: ServiceMethod; handler: (call: Call, callback: Callback) => void }>();
  for (const [service, handlers] of [[resourceServices.ResourceMonitorService, monitor], [engineServices.EngineService, engine]] as const) {
    for (const [name, method] of Object.entries(service as Record<string, ServiceMethod>)) {
      const handler = (handlers as Record<string, ((call: Call, callback: Callback) => void) | undefined>)[name];
      if (handler) byPath.set(method.path, { method, handler });
    }
  }
  const servePipe = (pipe: Duplex) => {
    const none = Buffer.alloc(0);
    const read = frameReader((frame) => {
      const request = readRequest(frame);
      // A thousand registrations: their replies are written straight as bytes (register-reply.ts).
      if (request.path === REGISTER_RESOURCE) {
        let bytes: Buffer;
        try {
          const { urn, id, properties } = register(resourceProto.RegisterResourceRequest.deserializeBinary(request.body));
          bytes = registerReplyBytes(urn, id, properties);
        } catch (err) {
          pipe.write(replyFrame(request.id, none, { code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) }));
          return;
        }
        pipe.write(replyFrame(request.id, bytes));
        return;
      }
      const found = byPath.get(request.path);
      if (!found) {
        pipe.write(replyFrame(request.id, none, { code: grpc.status.UNIMPLEMENTED, details: `virtform's resource monitor does not implement ${request.path}` }));
        return;
      }
      found.handler({ request: found.method.requestDeserialize(request.body) }, (err, reply) => {
        pipe.write(err ? replyFrame(request.id, none, { code: err.code, details: err.details }) : replyFrame(request.id, found.method.responseSerialize(reply)));
      });
    });
    // The replies to the calls of one chunk leave in one write.
    pipe.on("data", (chunk: Buffer) => {
      pipe.cork();
      read(chunk);
      pipe.uncork();
    });
    pipe.on("error", () => {}); // the program's end closes it; its exit code says how it went
  };
  return {
    address: `127.0.0.1:${port}`,
    registrations,
    stackOutputs,
    logs,
    servePipe,
    close: () => new Promise<void>((done) => server.tryShutdown(() => done())),
  };
}

function propertyDependencies(request: Message): Record<string, string[]> {
  const map = request.getPropertydependenciesMap() as { forEach(fn: (deps: Message, key: string) => void): void };
  const out: Record<string, string[]> = {};
  map.forEach((deps, key) => {
    const urns = deps.getUrnsList() as string[];
    if (urns.length > 0) out[key] = urns;
  });
  return out;
}

/** The SDK's source URIs: "file:/abs/path" or a plain path. */
function filePath(uri: string): string {
  // An ES module's frame already names a URL, which the SDK makes a URL again: "file:///dir/file:/dir/x.ts".
  const at = uri.lastIndexOf("file:");
  return at === -1 ? uri : fileURLToPath(uri.slice(at));
}
