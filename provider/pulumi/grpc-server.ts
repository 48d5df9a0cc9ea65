// The Pulumi ResourceProvider gRPC service, written on @grpc/grpc-js and the proto stubs that
// @pulumi/pulumi ships, not on its provider.main: that server answers CheckConfig with
// UNIMPLEMENTED, ignores Configure's settings, drops `stables`, sends no detailed diff, hides the
// preview flag from Create/Update and throws on outputs holding undefined. Each method here unpacks
// the request, calls PulumiResourceProvider, and packs the reply.
import { isVirtformError } from "../../core/virtform-error.ts";
import type * as grpcTypes from "@grpc/grpc-js";
import { EmbeddedBackend } from "../embedded-backend.ts";
import { HttpBackend } from "../http-backend.ts";
import { VirtformProvider } from "../virtform-provider.ts";
import { acquireInUseLock, InUseError, type InUseLock } from "../in-use-lock.ts";
import { PulumiResourceProvider, ResourceProviderError, type PropertyDiffKind, type Wire } from "./resource-provider.ts";
import { fromWire } from "./property-values.ts";
import { emptyProto, grpc, grpcError, pulumiProto, structProto, type Call, type Callback, type Message } from "./sdk-proto.ts";
import { resolve } from "node:path";
import { readFileSync } from "node:fs";

const services = pulumiProto("./provider_grpc_pb.js");
const proto = pulumiProto("./provider_pb.js");
const pluginProto = pulumiProto("./plugin_pb.js");

const DIFF_KIND: Record<PropertyDiffKind, number> = {
  add: proto.PropertyDiff.Kind.ADD,
  "add-replace": proto.PropertyDiff.Kind.ADD_REPLACE,
  delete: proto.PropertyDiff.Kind.DELETE,
  "delete-replace": proto.PropertyDiff.Kind.DELETE_REPLACE,
  update: proto.PropertyDiff.Kind.UPDATE,
  "update-replace": proto.PropertyDiff.Kind.UPDATE_REPLACE,
};

export interface PluginOptions {
  version: string;
  schema: string;
  /** Where a relative data dir is taken from: the program's directory, Pulumi's working directory. */
  cwd: string;
}

export function resourceProviderService(options: PluginOptions): Record<string, (call: Call, callback: Callback) => void> {
  const impl = new PulumiResourceProvider();
  let lock: InUseLock | undefined;
  const struct = (m: Message | undefined): Wire => (m ? (m.toJavaScript() as Wire) : {});
  const toStruct = (values: Wire) => structProto.Struct.fromJavaScript(values);

  /** Runs a handler and turns its errors into gRPC errors whose message the Pulumi CLI prints. */
  const handle =
    (fn: (request: Message) => Message | Promise<Message>) =>
    (call: Call, callback: Callback): void => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (reply) => callback(null, reply),
          (err: unknown) => {
            const message = describeError(err);
            callback(grpcError(grpc.status.UNKNOWN, message));
          },
        );
    };

  return {
    getPluginInfo: handle(() => {
      const info = new pluginProto.PluginInfo();
      info.setVersion(options.version);
      return info;
    }),

    getSchema: handle((request) => {
      if (request.getVersion() !== 0) throw new ResourceProviderError(`unsupported schema version ${request.getVersion()}`);
      const reply = new proto.GetSchemaResponse();
      reply.setSchema(options.schema);
      return reply;
    }),

    checkConfig: handle((request) => {
      const news = fromWire(struct(request.getNews())).values;
      const failures: { property: string; reason: string }[] = [];
      const endpoint = news.endpoint ?? process.env.VIRTFORM_ENDPOINT;
      if (endpoint !== undefined && (typeof endpoint !== "string" || !/^https?:\/\/[^/]/.test(endpoint))) {
        failures.push({ property: "endpoint", reason: `the endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}` });
      }
      for (const field of ["token", "dataDir"]) {
        if (news[field] !== undefined && typeof news[field] !== "string") failures.push({ property: field, reason: `${field} must be a string` });
      }
      const reply = new proto.CheckResponse();
      reply.setInputs(request.getNews());
      reply.setFailuresList(failures.map(checkFailure));
      return reply;
    }),

    diffConfig: handle((request) => {
      const olds = fromWire(struct(request.getOldInputs() ?? request.getOlds())).values;
      const news = fromWire(struct(request.getNews())).values;
      const changed = ["endpoint", "token", "dataDir"].filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
      const reply = new proto.DiffResponse();
      reply.setChanges(changed.length > 0 ? proto.DiffResponse.DiffChanges.DIFF_SOME : proto.DiffResponse.DiffChanges.DIFF_NONE);
      reply.setDiffsList(changed);
      return reply;
    }),

    configure: handle((request) => {
      // Settings arrive as args (a Struct, newer engines) or as "virtform:config:<key>" variables.
      const args = request.getArgs() ? fromWire(struct(request.getArgs())).values : {};
      const variables = request.getVariablesMap();
      const setting = (key: string): string | undefined => {
        const value = args[key] ?? variables.get(`virtform:config:${key}`) ?? variables.get(`virtform:${key}`);
        return typeof value === "string" && value !== "" ? value : undefined;
      };
      const endpoint = setting("endpoint") ?? process.env.VIRTFORM_ENDPOINT;
      if (endpoint) {
        const token = setting("token") ?? process.env.VIRTFORM_TOKEN;
        if (!token) throw new ResourceProviderError(`the emulator at ${endpoint} needs a token: set virtform:token (pulumi config set --secret virtform:token ...) or VIRTFORM_TOKEN`);
        impl.provider = new VirtformProvider(new HttpBackend({ endpoint, token, tokenSource: setting("token") ? "virtform:token" : "VIRTFORM_TOKEN" }));
      } else {
        const dataDir = resolve(options.cwd, setting("dataDir") ?? ".virtform/emulator");
        lock ??= holdData(dataDir);
        impl.provider = new VirtformProvider(EmbeddedBackend.open(dataDir));
      }
      const reply = new proto.ConfigureResponse();
      reply.setAcceptsecrets(true);
      reply.setSupportspreview(true);
      reply.setAcceptresources(false);
      reply.setAcceptoutputs(false);
      return reply;
    }),

    check: handle((request) => {
      const result = impl.check(request.getUrn(), struct(request.getNews()));
      const reply = new proto.CheckResponse();
      reply.setInputs(toStruct(result.inputs));
      reply.setFailuresList(result.failures.map(checkFailure));
      return reply;
    }),

    diff: handle((request) => {
      const oldInputs = request.getOldInputs() ?? request.getOlds();
      const result = impl.diff(request.getUrn(), struct(oldInputs), struct(request.getNews()), request.getIgnorechangesList(), request.getId());
      const reply = new proto.DiffResponse();
      reply.setChanges(result.changes ? proto.DiffResponse.DiffChanges.DIFF_SOME : proto.DiffResponse.DiffChanges.DIFF_NONE);
      reply.setReplacesList(result.replaces);
      reply.setStablesList(result.stables);
      reply.setDeletebeforereplace(result.deleteBeforeReplace);
      reply.setDiffsList(result.diffs);
      reply.setHasdetaileddiff(true);
      const detailed = reply.getDetaileddiffMap();
      for (const [path, kind] of Object.entries(result.detailedDiff)) {
        const diff = new proto.PropertyDiff();
        diff.setKind(DIFF_KIND[kind]);
        diff.setInputdiff(true);
        detailed.set(path, diff);
      }
      return reply;
    }),

    create: handle(async (request) => {
      const result = await impl.create(request.getUrn(), struct(request.getProperties()), request.getPreview());
      const reply = new proto.CreateResponse();
      reply.setId(result.id);
      reply.setProperties(toStruct(result.properties));
      return reply;
    }),

    read: handle(async (request) => {
      const result = await impl.read(request.getUrn(), request.getId(), struct(request.getInputs()), struct(request.getProperties()));
      const reply = new proto.ReadResponse();
      // An empty id tells the engine the object is gone.
      if (!result) return reply;
      reply.setId(result.id);
      reply.setProperties(toStruct(result.properties));
      reply.setInputs(toStruct(result.inputs));
      return reply;
    }),

    update: handle(async (request) => {
      const oldInputs = request.getOldInputs() ?? request.getOlds();
      const properties = await impl.update(
        request.getUrn(),
        request.getId(),
        struct(oldInputs),
        struct(request.getOlds()),
        struct(request.getNews()),
        request.getPreview(),
      );
      const reply = new proto.UpdateResponse();
      reply.setProperties(toStruct(properties));
      return reply;
    }),

    delete: handle(async (request) => {
      await impl.delete(request.getUrn(), request.getId(), struct(request.getOldInputs() ?? request.getProperties()), struct(request.getProperties()));
      return new emptyProto.Empty();
    }),

    cancel: handle(() => new emptyProto.Empty()),
    attach: handle(() => new emptyProto.Empty()),
  };
}

/**
 * What the Pulumi CLI shows for a failed call: a refusal (the backend's, with its code, or ours) as
 * it is; anything else is a bug, said as one, with the stack on stderr (the engine logs it).
 */
function describeError(err: unknown): string {
  if (err instanceof ResourceProviderError || isVirtformError(err)) return err.message;
  process.stderr.write(`pulumi-resource-virtform: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return `bug in pulumi-resource-virtform: ${err instanceof Error ? err.message : String(err)} (the stack is in the plugin's log)`;
}

function checkFailure(f: { property: string; reason: string }): Message {
  const failure = new proto.CheckFailure();
  failure.setProperty(f.property);
  failure.setReason(f.reason);
  return failure;
}

/** The embedded emulator's data is one process's at a time, as for the CLI. */
function holdData(dataDir: string): InUseLock {
  try {
    const lock = acquireInUseLock(dataDir, "pulumi-resource-virtform");
    process.once("exit", () => lock.release());
    return lock;
  } catch (err) {
    if (!(err instanceof InUseError)) throw err;
    throw new ResourceProviderError(`${err.message}; serve it (virtform emulator serve) and set virtform:endpoint and virtform:token`);
  }
}

/** Serves the provider on 127.0.0.1 and prints the port on stdout, as the Pulumi engine expects; logs go to stderr. */
export async function servePlugin(options: PluginOptions): Promise<grpcTypes.Server> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(services.ResourceProviderService, resourceProviderService(options) as unknown as grpcTypes.UntypedServiceImplementation);
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : done(p))),
  );
  process.stdout.write(`${port}\n`);
  return server;
}

/** The schema the plugin serves: the checked-in file `npm run gen:pulumi` writes. */
export function readSchema(): string {
  return readFileSync(new URL("./schema.json", import.meta.url), "utf8");
}
