// The provider's gRPC transport alone: a server's CPU per unary call, ours (grpc-server.ts on our
// HTTP/2, provider/terraform/http2/) beside node:http2's (the transport it replaced), both with
// mutual TLS as Terraform connects, answering every call at once with its request's message.
//   node bench/compare-terraform/transport.ts [--calls 20000] [--runs 5] [--inflight 10] [--json]
// The client is node:http2 in this process (Terraform's is grpc-go, which costs a server more per
// call: it sends PINGs and WINDOW_UPDATEs besides); each server runs in its own process, which
// reports its CPU for the calls alone (start-up excluded). Runs alternate the two servers.
import { spawn } from "node:child_process";
import http2 from "node:http2";
import { createInterface } from "node:readline";
import { selfSignedCertificate } from "../../provider/terraform/certificate.ts";
import { frame, serveGrpc } from "../../provider/terraform/grpc-server.ts";
import { commandOf, emitResult, takeJsonFlag } from "../result.ts";

type Server = "ours" | "node:http2";
const PATH = "/tfplugin6.Provider/ValidateResourceConfig";

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};

const json = takeJsonFlag();
if (process.argv[2] === "serve") await serve(process.argv[3] as Server);
else await compare();

/** The server process: prints its port, then its CPU since the first call when told "report". */
async function serve(kind: Server): Promise<void> {
  const identity = selfSignedCertificate();
  const client = JSON.parse(process.env.BENCH_CLIENT!) as { certPem: string };
  let port: number;
  if (kind === "ours") {
    const echo = { decode: (bytes: Uint8Array) => bytes, encode: (reply: unknown) => reply as Uint8Array, call: async (request: unknown) => request };
    port = (await serveGrpc((path) => (path === PATH ? echo : undefined), { keyPem: identity.keyPem, certPem: identity.certPem, clientCertPem: client.certPem })).port;
  } else {
    // node:http2 as grpc-server.ts used it until it had its own HTTP/2.
    const server = http2.createSecureServer({ key: identity.keyPem, cert: identity.certPem, ca: client.certPem, requestCert: true, rejectUnauthorized: true });
    server.on("stream", (stream) => {
      stream.on("error", () => undefined);
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const body = Buffer.concat(chunks);
        void Promise.resolve(body.subarray(5)).then((reply) => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end(frame(reply));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  }
  process.stdout.write(`${port} ${identity.certPem.replace(/\n/g, "\\n")}\n`);
  let start: NodeJS.CpuUsage | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "start") start = process.cpuUsage();
    if (line === "report") {
      const used = process.cpuUsage(start);
      process.stdout.write(`${(used.user + used.system) / 1000}\n`);
      process.exit(0);
    }
  }
  process.exit(1); // the bench is gone
}

/** One run: a server process, `calls` calls from one connection with `inflight` at a time; its CPU in ms. */
async function run(kind: Server, calls: number, inflight: number): Promise<number> {
  const client = selfSignedCertificate();
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, "serve", kind], { env: { ...process.env, BENCH_CLIENT: JSON.stringify({ certPem: client.certPem }) }, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = String((await lines.next()).value);
  const [port, serverPem] = [first.slice(0, first.indexOf(" ")), first.slice(first.indexOf(" ") + 1)];
  const session = http2.connect(`https://localhost:${port}`, { key: client.keyPem, cert: client.certPem, ca: serverPem.replace(/\\n/g, "\n") });
  const message = frame(Buffer.alloc(200, 7));
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": PATH, "content-type": "application/grpc", te: "trailers" });
      let bytes = 0;
      stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
      stream.on("trailers", (trailers) => (trailers["grpc-status"] === "0" && bytes === message.length ? resolve() : reject(new Error(`status ${trailers["grpc-status"]}, ${bytes} bytes`))));
      stream.on("error", reject);
      stream.end(message);
    });
  // A few calls first, so that both servers are warm and connected when the count starts.
  for (let i = 0; i < 100; i++) await call();
  child.stdin!.write("start\n");
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next++ < calls) await call();
    }),
  );
  child.stdin!.write("report\n");
  const cpuMs = Number((await lines.next()).value);
  session.close();
  return cpuMs;
}

async function compare(): Promise<void> {
  const calls = argument("calls", 20000);
  const runs = argument("runs", 5);
  const inflight = argument("inflight", 10);
  console.log(`command: ${commandOf("bench/compare-terraform/transport.ts")}`);
  const cpu: Record<Server, number[]> = { ours: [], "node:http2": [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of (r % 2 === 0 ? ["ours", "node:http2"] : ["node:http2", "ours"]) as Server[]) {
      const ms = await run(kind, calls, inflight);
      cpu[kind].push(ms);
      console.error(`run ${r + 1} ${kind}: ${ms.toFixed(0)} ms CPU for ${calls} calls`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const perCall = (kind: Server) => (median(cpu[kind]) * 1000) / calls;
  console.log(`\n| server | CPU per call (median of ${runs}) | runs, ms for ${calls} calls |\n| --- | ---: | --- |`);
  for (const kind of ["ours", "node:http2"] as Server[]) console.log(`| ${kind} | ${perCall(kind).toFixed(1)} µs | ${cpu[kind].map((ms) => ms.toFixed(0)).join(", ")} |`);
  const ratio = perCall("node:http2") / perCall("ours");
  console.log(`\nnode:http2 / ours: ${ratio.toFixed(2)}x`);
  emitResult(json, {
    benchmark: "terraform-transport",
    command: commandOf("bench/compare-terraform/transport.ts"),
    rows: [{ what: `gRPC server CPU per unary call, mutual TLS, ${inflight} in flight`, unit: "µs", ours: perCall("ours"), peer: perCall("node:http2"), peerName: "node:http2", ratio, ratioMeaning: "node:http2 / ours" }],
    notes: [`median of ${runs} runs of ${calls} calls each, the two servers alternating; client: node:http2`],
  });
}
