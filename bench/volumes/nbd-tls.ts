// What TLS with a pre-shared key costs on the NBD data path: sequential 1 MiB and 4 KiB copies
// with one nbdcopy connection (qemu-img bench cannot create the tls-creds object TLS needs) into
// and out of ours (ThinPool + NbdServer, in this process) and nbdkit's file plugin, each served
// plain and with TLS-PSK (nbdkit --tls=require --tls-psk), from one temp dir.
// Run: npx tsx bench/volumes/nbd-tls.ts [--size MiB]   (needs libnbd-bin, nbdkit; about a minute at 256 MiB)

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NbdServer } from "../../emulator/block/nbd-server.ts";
import { generatePsk, writePskFile } from "../../emulator/block/psk-file.ts";
import { ThinPool } from "../../emulator/block/thin-pool.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { exec, freePort, HOST, waitForPort } from "./processes.ts";

const json = takeJsonFlag();
const MiB = 1024 * 1024;
const sizeAt = process.argv.indexOf("--size");
const SIZE = (sizeAt >= 0 ? Number(process.argv[sizeAt + 1]) : 256) * MiB; // bytes each server exports, and each copy moves
if (!Number.isInteger(SIZE / MiB) || SIZE < 16 * MiB) throw new Error("--size takes a whole number of MiB, at least 16");
const ROUNDS = 2; // best of

interface Workload {
  name: string;
  write: boolean;
  requestSize: number;
  requests: number; // in flight
}
const WORKLOADS: Workload[] = [
  { name: "seq write 1 MiB", write: true, requestSize: MiB, requests: 16 },
  { name: "seq read 1 MiB", write: false, requestSize: MiB, requests: 16 },
  { name: "seq write 4 KiB", write: true, requestSize: 4096, requests: 64 },
  { name: "seq read 4 KiB", write: false, requestSize: 4096, requests: 64 },
];

interface Target {
  name: string;
  tls: boolean;
  uri: string;
  stop(): Promise<void>;
}




async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "virtform-bench-tls-"));
  const targets: Target[] = [];
  let pool: ThinPool | undefined;
  try {
    const psk = generatePsk();
    const keyFile = writePskFile(join(dir, "tls"), psk);
    const uri = (tls: boolean, port: number, name: string) =>
      tls ? `nbds://${psk.identity}@${HOST}:${port}/${name}?tls-psk-file=${keyFile}` : `nbd://${HOST}:${port}/${name}`;

    const opened = await ThinPool.create(join(dir, "pool"), { devices: [{ sizeBytes: 2 * SIZE + 64 * MiB }] });
    pool = opened;
    for (const tls of [false, true]) {
      const volume = tls ? "tls" : "plain";
      await opened.createVolume(volume, SIZE);
      const server = new NbdServer({
        lookup: (name) => (name === volume ? { device: opened.device(volume) } : undefined),
        list: () => [volume],
        security: tls ? { psk } : "insecure",
      });
      const { port } = await server.listen({ host: HOST, port: 0 });
      targets.push({ name: "virtform", tls, uri: uri(tls, port, volume), stop: () => server.close() });

      const image = join(dir, `nbdkit-${volume}.img`);
      await writeFile(image, "");
      await truncate(image, SIZE);
      const kitPort = await freePort();
      const args = ["-f", "--exit-with-parent", ...(tls ? ["--tls=require", `--tls-psk=${keyFile}`] : []), "-i", HOST, "-p", String(kitPort), "file", image];
      const child = spawn("nbdkit", args, { stdio: ["ignore", "ignore", "inherit"] });
      await waitForPort(kitPort, child);
      targets.push({
        name: "nbdkit file",
        tls,
        uri: uri(tls, kitPort, ""),
        stop: async () => {
          const gone = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await gone;
        },
      });
    }
    const source = join(dir, "source.bin");
    await writeFile(source, randomBytes(SIZE));

    const best = new Map<string, number>(); // `${target}|${tls}|${workload}` -> MiB/s
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of WORKLOADS) {
        for (const t of targets) {
          const flags = ["--connections=1", `--requests=${w.requests}`, `--request-size=${w.requestSize}`, "--sparse=0", "--no-extents"];
          const begin = process.hrtime.bigint();
          await exec("nbdcopy", w.write ? [...flags, "--flush", source, t.uri] : [...flags, t.uri, "null:"]);
          const mibs = SIZE / MiB / (Number(process.hrtime.bigint() - begin) / 1e9);
          const key = `${t.name}|${t.tls}|${w.name}`;
          best.set(key, Math.max(best.get(key) ?? 0, mibs));
        }
      }
    }

    const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const get = (name: string, tls: boolean, w: Workload) => best.get(`${name}|${tls}|${w.name}`) ?? Number.NaN;
    const result: Row[] = [];
    const rows = [["workload", "virtform plain", "virtform TLS", "nbdkit plain", "nbdkit TLS", "ours/nbdkit plain", "ours/nbdkit TLS"]];
    for (const w of WORKLOADS) {
      const [op, ot, kp, kt] = [get("virtform", false, w), get("virtform", true, w), get("nbdkit file", false, w), get("nbdkit file", true, w)];
      rows.push([w.name, fmt(op), fmt(ot), fmt(kp), fmt(kt), `${fmt(op / kp, 2)}x`, `${fmt(ot / kt, 2)}x`]);
      result.push({ what: `${w.name} with TLS-PSK, nbdcopy, ${SIZE / MiB} MiB`, unit: "MiB/s", ours: ot, peer: kt, peerName: "nbdkit file TLS", ratio: ot / kt, ratioMeaning: "ours / nbdkit" });
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
    console.log(`nbdcopy --connections=1, MiB/s, ${SIZE / MiB} MiB per copy, exports in ${dir}; best of ${ROUNDS}; ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const [i, r] of rows.entries()) {
      console.log(r.map((c, j) => (j === 0 ? c.padEnd(widths[j] ?? 0) : c.padStart(widths[j] ?? 0))).join("  "));
      if (i === 0) console.log(widths.map((n) => "-".repeat(n)).join("  "));
    }
    emitResult(json, { benchmark: "volumes-tls", command: commandOf("bench/volumes/nbd-tls.ts"), rows: result });
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
