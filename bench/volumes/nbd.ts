// Sequential 1 MiB and 4 KiB read/write throughput through NBD, measured with one client
// (qemu-img bench) against three servers serving the same amount of storage from one temp dir:
// ours (ThinPool + NbdServer, in this process), nbdkit's file plugin, and qemu-nbd
// --cache=writeback; plus dd with fsync to that disk as the physical limit.
// qemu-nbd gets a tenth of the 4 KiB requests (it manages only hundreds of IOPS there).
// Run: npx tsx bench/volumes/nbd.ts [--size MiB]   (needs qemu-utils, nbdkit; about a minute at 1024 MiB)
// Targets (issue 9): ours >= 0.9x nbdkit on 1 MiB sequential I/O, >= 0.7x on 4 KiB.

import { spawn } from "node:child_process";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NbdServer } from "../../emulator/block/nbd-server.ts";
import { ThinPool } from "../../emulator/block/thin-pool.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { exec, freePort, HOST, waitForPort } from "./processes.ts";

const json = takeJsonFlag();
const MiB = 1024 * 1024;
const sizeAt = process.argv.indexOf("--size");
const SIZE = (sizeAt >= 0 ? Number(process.argv[sizeAt + 1]) : 1024) * MiB; // bytes each server exports
if (!Number.isInteger(SIZE / MiB) || SIZE < 16 * MiB) throw new Error("--size takes a whole number of MiB, at least 16");
const ROUNDS = 2; // best of

interface Workload {
  name: string;
  write: boolean;
  blockSize: number;
  count: number;
  depth: number;
}
const WORKLOADS: Workload[] = [
  { name: "seq write 1 MiB", write: true, blockSize: MiB, count: SIZE / MiB, depth: 16 },
  { name: "seq read 1 MiB", write: false, blockSize: MiB, count: SIZE / MiB, depth: 16 },
  { name: "seq write 4 KiB", write: true, blockSize: 4096, count: 20_000, depth: 64 },
  { name: "seq read 4 KiB", write: false, blockSize: 4096, count: 20_000, depth: 64 },
];

interface Target {
  name: string;
  uri: string;
  /** Fraction of the 4 KiB request count to send (qemu-nbd does ~400 IOPS there; IOPS stay comparable). */
  smallScale?: number;
  stop(): Promise<void>;
}




async function childServer(name: string, command: string, args: (port: number) => string[], uri: (port: number) => string, smallScale = 1): Promise<Target> {
  const port = await freePort();
  // stderr only shown if the server dies: the readiness probe makes qemu-nbd log a failed handshake
  const child = spawn(command, args(port), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.once("exit", (code) => {
    if (code !== 0 && code !== null) console.error(`${name} exited with ${code}: ${stderr}`);
  });
  await waitForPort(port, child);
  return {
    name,
    uri: uri(port),
    smallScale,
    stop: async () => {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** Returns seconds per request. */
async function bench(target: Target, w: Workload): Promise<number> {
  const count = w.blockSize < MiB ? Math.round(w.count * (target.smallScale ?? 1)) : w.count;
  const args = ["bench", "-f", "raw", "-t", "none", "-c", String(count), "-s", String(w.blockSize), "-d", String(w.depth)];
  if (w.write) args.push("-w");
  const { stdout } = await exec("qemu-img", [...args, target.uri]);
  const match = /Run completed in ([\d.]+) seconds/.exec(stdout);
  if (!match?.[1]) throw new Error(`unexpected qemu-img bench output: ${stdout}`);
  return Number(match[1]) / count;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "virtform-bench-"));
  const targets: Target[] = [];
  try {
    // ours
    const pool = await ThinPool.create(join(dir, "pool"), { devices: [{ sizeBytes: SIZE + 64 * MiB }] });
    await pool.createVolume("bench", SIZE);
    const server = new NbdServer({
      lookup: (name) => (name === "bench" ? { device: pool.device("bench") } : undefined),
      list: () => ["bench"],
      security: "insecure", // TLS costs: bench/volumes/nbd-tls.ts
    });
    const { port } = await server.listen({ host: HOST, port: 0 });
    targets.push({
      name: "virtform",
      uri: `nbd://${HOST}:${port}/bench`,
      stop: async () => {
        await server.close();
        await pool.close();
      },
    });
    for (const file of ["nbdkit.img", "qemu-nbd.img"]) {
      await writeFile(join(dir, file), "");
      await truncate(join(dir, file), SIZE);
    }
    targets.push(
      await childServer("nbdkit file", "nbdkit", (p) => ["-f", "--exit-with-parent", "-i", HOST, "-p", String(p), "file", join(dir, "nbdkit.img")], (p) => `nbd://${HOST}:${p}`),
    );
    targets.push(
      await childServer(
        "qemu-nbd writeback",
        "qemu-nbd",
        (p) => ["-f", "raw", "--cache=writeback", "-b", HOST, "-p", String(p), "-x", "bench", "--persistent", "--shared=4", join(dir, "qemu-nbd.img")],
        (p) => `nbd://${HOST}:${p}/bench`,
        0.1,
      ),
    );

    const seconds = new Map<string, number>(); // `${target}|${workload}` -> best seconds per request
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of WORKLOADS) {
        for (const t of targets) {
          const s = await bench(t, w);
          const key = `${t.name}|${w.name}`;
          seconds.set(key, Math.min(seconds.get(key) ?? Infinity, s));
        }
      }
    }

    // Physical limit: 1 GiB of writes followed by fsync, to the same disk.
    const ddStart = process.hrtime.bigint();
    await exec("dd", ["if=/dev/zero", `of=${join(dir, "dd.img")}`, "bs=1M", `count=${SIZE / MiB}`, "conv=fsync"]);
    const ddSeconds = Number(process.hrtime.bigint() - ddStart) / 1e9;

    const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const result: Row[] = [];
    const rows: string[][] = [["workload", ...targets.map((t) => `${t.name} MiB/s`), ...targets.map((t) => `${t.name} IOPS`), "ours/nbdkit", "ours/qemu-nbd"]];
    for (const w of WORKLOADS) {
      const secs = targets.map((t) => seconds.get(`${t.name}|${w.name}`) ?? Number.NaN);
      const mibs = secs.map((s) => w.blockSize / MiB / s);
      const iops = secs.map((s) => 1 / s);
      const [ours = Number.NaN, nbdkit = Number.NaN, qemu = Number.NaN] = mibs;
      rows.push([w.name, ...mibs.map((m) => fmt(m)), ...iops.map((i) => fmt(i)), `${fmt(ours / nbdkit, 2)}x`, `${fmt(ours / qemu, 2)}x`]);
      const floor = w.blockSize === MiB ? 0.9 : 0.7;
      result.push({ what: `${w.name}, ${SIZE / MiB} MiB export`, unit: "MiB/s", ours, peer: nbdkit, peerName: "nbdkit file", ratio: ours / nbdkit, ratioMeaning: "ours / nbdkit", target: `>= ${floor}x`, met: ours / nbdkit >= floor });
    }
    rows.push(["dd 1 MiB + fsync", fmt(SIZE / MiB / ddSeconds), "", "", fmt(SIZE / MiB / ddSeconds), "", "", "", ""]);
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
    console.log(`qemu-img bench -f raw -t none against nbd://127.0.0.1; ${SIZE / MiB} MiB exports in ${dir}; best of ${ROUNDS}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const [i, r] of rows.entries()) {
      console.log(r.map((c, j) => (j === 0 ? c.padEnd(widths[j] ?? 0) : c.padStart(widths[j] ?? 0))).join("  "));
      if (i === 0) console.log(widths.map((n) => "-".repeat(n)).join("  "));
    }
    console.log("(the dd row's first number is MiB/s; it is the disk's sequential write limit with fsync)");
    result.push({ what: `dd 1 MiB + fsync, ${SIZE / MiB} MiB (the disk's limit)`, unit: "MiB/s", ours: SIZE / MiB / ddSeconds });
    emitResult(json, { benchmark: "volumes", command: commandOf("bench/volumes/nbd.ts"), rows: result });
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
