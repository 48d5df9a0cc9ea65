// Benchmark of placement (issue 4, point 8).
//   npx tsx bench/placement/placement.ts [--instances 100000] [--hosts 10000] [--http 5000] [--clients 4] [--budget 60]
// 1. Through the emulator's real instance service, in process (`Emulator.inMemory()`, so disk I/O
//    does not dominate): one cluster of --hosts hosts (native, 64 vCPU, 256 GiB, 2,000 GiB local
//    disk each), then --instances creates of 4 vCPU, 16 GiB, 20 GiB instances, each a transaction
//    with validation, events and outputs as any create: once with `spread`, once with spread plus
//    anti-affinity (groups of 50 members that must land on distinct hosts).
// 2. The placement layer alone, without the emulator: the host index (emulator/compute/host-index.ts)
//    and the plain scan `placeInstance` over every host's room, on the same workloads.
// 3. The HTTP API on loopback: `serveEmulator` on a temp data dir (journal and snapshot on disk, as
//    `virtform emulator serve` runs), --http instance creates from --clients concurrent clients.
// A run that exceeds --budget seconds stops and reports how far it got, with the time the whole run
// would take at the rate so far (a lower bound for the scan, whose cost grows with the instances).
// Target (issue 4): each 100,000-instance placement <= 2 s.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Emulator } from "../../emulator/emulator.ts";
import { serveEmulator } from "../../emulator/http/server.ts";
import { placeInstance, type HostRoom, type PlacementRules, type Resident } from "../../emulator/compute/placement.ts";
import { HostIndex } from "../../emulator/compute/host-index.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";

const json = takeJsonFlag();

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number, got ${args[i + 1]}`);
  return n;
}
const INSTANCES = option("instances", 100_000);
const HOSTS = option("hosts", 10_000);
const HTTP = option("http", 5_000);
const CLIENTS = option("clients", 4);
const BUDGET = option("budget", 60);
const GROUP = 50;

const HOST = { vcpu: 64, memoryGiB: 256, localDiskGiB: 2000 };
const NEED = { vcpu: 4, memoryGiB: 16, localDiskGiB: 20 };

type Workload = "spread" | "anti-affinity";
const WORKLOADS: Workload[] = ["spread", "anti-affinity"];

interface Result {
  placed: number;
  seconds: number;
  /** Set when the run stopped at the budget: the time the whole run would take at the rate so far. */
  projected?: number;
  check: string;
}

const rulesFor = (workload: Workload, i: number): { group: string; placement: Record<string, string> } =>
  workload === "spread"
    ? { group: "app", placement: { policy: "spread" } }
    : { group: `g${Math.floor(i / GROUP)}`, placement: { policy: "spread", antiAffinityGroup: `g${Math.floor(i / GROUP)}` } };

/** Anti-affinity groups whose members share a host (must be none), and the busiest host's count. */
function check(workload: Workload, hostOf: (i: number) => string, placed: number): string {
  const perHost = new Map<string, number>();
  let shared = 0;
  for (let g = 0; g * GROUP < placed; g++) {
    const seen = new Set<string>();
    for (let i = g * GROUP; i < Math.min(placed, (g + 1) * GROUP); i++) {
      const host = hostOf(i);
      perHost.set(host, (perHost.get(host) ?? 0) + 1);
      if (seen.has(host)) shared++;
      seen.add(host);
    }
  }
  const max = Math.max(...perHost.values());
  return workload === "anti-affinity" ? `${perHost.size} hosts used, max ${max}/host, ${shared} group members sharing a host` : `${perHost.size} hosts used, max ${max}/host`;
}

function finish(started: number, placed: number, stopped: boolean, check: string): Result {
  const seconds = (performance.now() - started) / 1000;
  return { placed, seconds, ...(stopped ? { projected: (seconds / placed) * INSTANCES } : {}), check };
}

function viaEmulator(workload: Workload): Result {
  const emulator = Emulator.inMemory();
  const cluster = emulator.create("Cluster", { hypervisor: "native", hosts: { count: HOSTS, ...HOST } }, { name: "cluster.bench" });
  const made = emulator.create("Image", { base: "debian-12", packages: ["tomcat10"], variants: { light: {} } }, { name: "image.app" });
  const digest = (made.outputs.variants as Record<string, { digest: string }>).light!.digest;
  const image = { image: made.id, variant: "light", digest };
  const hosts: string[] = [];
  const started = performance.now();
  let i = 0;
  for (; i < INSTANCES; i++) {
    const { group, placement } = rulesFor(workload, i);
    const spec = { cluster: cluster.id, group, index: i, image, ...NEED, placement };
    const object = emulator.create("Instance", spec, { name: `instances.bench/${group}[${i}]` });
    hosts.push(object.outputs.host as string);
    if ((i & 255) === 255 && performance.now() - started > BUDGET * 1000) break;
  }
  const placed = Math.min(i + 1, INSTANCES);
  return finish(started, placed, placed < INSTANCES, check(workload, (k) => hosts[k]!, placed));
}

function pureScan(workload: Workload): Result {
  const rooms: (HostRoom & { residents: Resident[] })[] = Array.from({ length: HOSTS }, (_, index) => ({
    id: `h${index}`,
    index,
    free: { vcpu: HOST.vcpu, memoryGiB: HOST.memoryGiB - 1, localDiskGiB: HOST.localDiskGiB },
    residents: [],
  }));
  const byId = new Map(rooms.map((r) => [r.id, r]));
  const hosts: string[] = [];
  const started = performance.now();
  let i = 0;
  for (; i < INSTANCES; i++) {
    const { group, placement } = rulesFor(workload, i);
    const rules: PlacementRules = { policy: "spread", group, antiAffinityGroup: placement.antiAffinityGroup };
    const p = placeInstance(rooms, NEED, rules);
    if (!p.ok) throw new Error(p.reason);
    const room = byId.get(p.hostId)!;
    room.free.vcpu -= NEED.vcpu;
    room.free.memoryGiB -= NEED.memoryGiB;
    room.free.localDiskGiB -= NEED.localDiskGiB;
    room.residents.push({ group, antiAffinityGroup: rules.antiAffinityGroup });
    hosts.push(p.hostId);
    if ((i & 15) === 15 && performance.now() - started > BUDGET * 1000) break;
  }
  const placed = Math.min(i + 1, INSTANCES);
  return finish(started, placed, placed < INSTANCES, check(workload, (k) => hosts[k]!, placed));
}

function pureIndex(workload: Workload): Result {
  const index = new HostIndex(
    Array.from({ length: HOSTS }, (_, i) => ({ id: `h${i}`, index: i, usable: { vcpu: HOST.vcpu, memoryGiB: HOST.memoryGiB - 1, localDiskGiB: HOST.localDiskGiB } })),
  );
  const hosts: string[] = [];
  const started = performance.now();
  let i = 0;
  for (; i < INSTANCES; i++) {
    const { group, placement } = rulesFor(workload, i);
    const rules: PlacementRules = { policy: "spread", group, antiAffinityGroup: placement.antiAffinityGroup };
    const hostId = index.place(NEED, rules);
    if (hostId === undefined) throw new Error(`no host for instance ${i}`);
    index.add({ id: `i${i}`, hostId, ...NEED, group, antiAffinityGroup: rules.antiAffinityGroup });
    hosts.push(hostId);
    if ((i & 255) === 255 && performance.now() - started > BUDGET * 1000) break;
  }
  const placed = Math.min(i + 1, INSTANCES);
  return finish(started, placed, placed < INSTANCES, check(workload, (k) => hosts[k]!, placed));
}

async function viaHttp(): Promise<{ requests: number; seconds: number; perSecond: number; p50: number; p99: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "virtform-bench-placement-"));
  const token = "bench-token";
  const server = await serveEmulator({ dataDir, token, port: 0 });
  const call = async (path: string, body: unknown) => {
    const response = await fetch(server.url + path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { id: string; outputs: Record<string, unknown> };
    if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  try {
    const cluster = await call("/v1/clusters", { name: "cluster.bench", spec: { hypervisor: "native", hosts: { count: 1000, ...HOST } } });
    const made = await call("/v1/images", { name: "image.app", spec: { base: "debian-12", packages: ["tomcat10"], variants: { light: {} } } });
    const image = { image: made.id, variant: "light", digest: (made.outputs.variants as Record<string, { digest: string }>).light!.digest };
    let next = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const client = async () => {
      for (let i = next++; i < HTTP; i = next++) {
        const t = performance.now();
        await call("/v1/instances", {
          name: `instances.bench/app[${i}]`,
          spec: { cluster: cluster.id, group: "app", index: i, image, ...NEED, localDiskGiB: 0, placement: { policy: "spread" } },
        });
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    return { requests: HTTP, seconds, perSecond: HTTP / seconds, p50: at(0.5), p99: at(0.99) };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (r: Result) =>
  r.projected === undefined
    ? `${r.seconds.toFixed(2)} s`
    : `stopped at ${r.placed.toLocaleString("en")} after ${r.seconds.toFixed(1)} s (>= ${r.projected.toFixed(0)} s for all)`;

console.log(
  `placement benchmark: ${INSTANCES.toLocaleString("en")} instances on ${HOSTS.toLocaleString("en")} hosts (one cluster); ` +
    `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`,
);
const table: string[][] = [];
const result: Row[] = [];
for (const workload of WORKLOADS) {
  for (const [what, run] of [
    ["emulator (in-memory), instance service", viaEmulator],
    ["placement layer: host index", pureIndex],
    ["placement layer: placeInstance scan", pureScan],
  ] as const) {
    const r = run(workload);
    const rate = Math.round(r.placed / r.seconds).toLocaleString("en");
    console.log(`${workload}, ${what}: ${fmt(r)}, ${rate} placements/s; ${r.check}`);
    table.push([workload, what, fmt(r), rate]);
    // Issue 4's target (2 s) is for 100,000 placements through the emulator, the row users get.
    const target = INSTANCES === 100_000 && run === viaEmulator ? { target: "<= 2 s", met: r.projected === undefined && r.seconds <= 2 } : {};
    result.push({
      what: `${workload}, ${INSTANCES.toLocaleString("en")} instances on ${HOSTS.toLocaleString("en")} hosts, ${what}${r.projected === undefined ? "" : ` (stopped at ${r.placed.toLocaleString("en")}, projected)`}`,
      unit: "s",
      ours: r.projected ?? r.seconds,
      ...target,
    });
  }
}
if (HTTP > 0) {
  const h = await viaHttp();
  const line = `${h.requests.toLocaleString("en")} instance creates, ${CLIENTS} clients, ${h.seconds.toFixed(2)} s (p50 ${h.p50.toFixed(1)} ms, p99 ${h.p99.toFixed(1)} ms)`;
  console.log(`HTTP on loopback: ${line}, ${Math.round(h.perSecond).toLocaleString("en")} creates/s`);
  table.push(["HTTP creates (temp data dir, 1,000 hosts)", line, `${h.seconds.toFixed(2)} s`, Math.round(h.perSecond).toLocaleString("en")]);
  result.push({ what: `HTTP instance creates on loopback, ${CLIENTS} clients, ${h.requests.toLocaleString("en")}`, unit: "creates/s", ours: h.perSecond });
}
console.log(`\n| workload | through | wall time | per second |\n| --- | --- | ---: | ---: |`);
for (const row of table) console.log(`| ${row.join(" | ")} |`);
emitResult(json, { benchmark: "placement", command: commandOf("bench/placement/placement.ts"), rows: result });
