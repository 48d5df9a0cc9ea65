// In the Pulumi program's process (loaded by child-hooks.ts): the SDK's resource monitor and engine
// clients replaced by ones that send the same protobuf messages over a pipe to virtform (pipe-frames.ts),
// so no call pays for HTTP/2 and gRPC's client stack. Each method keeps the stubs' call shape,
// (request, [metadata,] [options,] callback), and errors keep gRPC's "<code> <STATUS>: <details>".
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { frameReader, readReply, requestFrame } from "./pipe-frames.ts";

interface Method {
  path: string;
  requestSerialize(message: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}
type Callback = (err: Error | null, reply?: unknown) => void;

const sdk = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/proto/resource_grpc_pb.js"));

export function usePipe(fd: number): void {
  const resource = sdk("./resource_grpc_pb.js") as Record<string, unknown>;
  const engine = sdk("./engine_grpc_pb.js") as Record<string, unknown>;
  const status = (sdk("@grpc/grpc-js") as { status: Record<number, string> }).status;
  const socket = new Socket({ fd, readable: true, writable: true });
  // The pipe keeps the program alive only while a call waits for its reply.
  socket.unref();
  const calls = new Map<number, { callback: Callback; method: Method }>();
  let next = 1;
  let corked = false;
  socket.on(
    "data",
    frameReader((frame) => {
      const reply = readReply(frame);
      const call = calls.get(reply.id);
      calls.delete(reply.id);
      if (calls.size === 0) socket.unref();
      if (!call) return;
      if (!reply.error) return call.callback(null, call.method.responseDeserialize(reply.body));
      const { code, details } = reply.error;
      call.callback(Object.assign(new Error(`${code} ${status[code] ?? "UNKNOWN"}: ${details}`), { code, details }));
    }),
  );
  socket.on("error", (err) => {
    for (const call of calls.values()) call.callback(err);
    calls.clear();
  });

  const clientOf = (service: Record<string, Method>) =>
    class PipeClient {
      constructor() {
        for (const [name, method] of Object.entries(service)) {
          (this as Record<string, unknown>)[name] = (request: unknown, ...rest: unknown[]) => {
            const callback = rest.findLast((r): r is Callback => typeof r === "function") ?? (() => {});
            const id = next++;
            calls.set(id, { callback, method });
            socket.ref();
            // The calls one turn of the program makes leave in one write.
            if (!corked) {
              corked = true;
              socket.cork();
              process.nextTick(() => {
                corked = false;
                socket.uncork();
              });
            }
            socket.write(requestFrame(id, method.path, method.requestSerialize(request)));
          };
        }
      }

      close(): void {}
    };
  resource.ResourceMonitorClient = clientOf(resource.ResourceMonitorService as Record<string, Method>);
  engine.EngineClient = clientOf(engine.EngineService as Record<string, Method>);
}
