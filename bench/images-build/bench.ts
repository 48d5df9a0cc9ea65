// Benchmark (issue 16, point 7): the java-appserver example's three variants (light, moderate,
// heavy) built by `virtform images build` as layer chains, cold and warm, against three
// independent full builds of the same locked package sets (what a per-variant image builder such
// as Packer does: mmdebstrap the whole set, make the file system, convert to qcow2). Then a warm
// rebuild after changing one variant's config. Both sides install from the same prefetched .deb
// files, so neither pays for the download.
// Targets: cold layered time <= 0.6x the full builds, bytes stored <= 0.5x, warm config rebuild <= 10 s.
// Each step is timed in wall seconds and in CPU seconds (user + sys of this process's children: the
// CLI, mmdebstrap, apt, dpkg, qemu-storage-daemon ...), the figure to compare on a shared machine.
// Needs root, mmdebstrap, e2fsprogs, qemu-utils, qemu-system-common and the Debian mirror. Takes
// minutes of CPU. Run: node bench/images-build/bench.ts [--json]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_SOURCES, runMmdebstrap } from "../../images/build/mmdebstrap.ts";
import { fsBytesFor, mkfsFromDir, qcow2, storedBytes } from "../../images/build/qcow2-chain.ts";
import { readLockfile } from "../../images/lockfile.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";

const json = takeJsonFlag();

const repo = new URL("../../", import.meta.url).pathname;
const EPOCH = 1704067200;
const env = { ...process.env, NO_COLOR: "1", VIRTFORM_APT_LISTS: "/var/lib/apt/lists", SOURCE_DATE_EPOCH: String(EPOCH) };
const work = mkdtempSync(join(tmpdir(), "virtform-bench-build-"));
const cache = join(work, "cache");
const debs = join(cache, "debs");
const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;

/** CPU seconds (user + sys) of this process's finished children: /proc/self/stat's cutime and cstime, in clock ticks. */
function childCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime (fields 16, 17); CLK_TCK is 100 on Linux
}

interface Timed {
  seconds: number;
  cpu: number;
}

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [join(repo, "bin", "virtform.mjs"), ...args], { cwd: work, env, encoding: "utf8", maxBuffer: 64 * 1024 ** 2 });
  if (r.status !== 0) throw new Error(`virtform ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

interface Manifest {
  storedBytes: number;
  variants: { variant: string; artifact: string; layers: { role: string; digest: string; cached: boolean; seconds: number; storedBytes: number }[] }[];
}

function layered(label: string): Timed & { manifest: Manifest } {
  const started = Date.now();
  const cpuBefore = childCpu();
  const manifest = JSON.parse(cli(["images", "build", "--cache", cache, "--json"])) as Manifest;
  const seconds = (Date.now() - started) / 1000;
  const cpu = childCpu() - cpuBefore;
  // A layer shared by variants is built once: each is named once, by the first variant that has it.
  const seen = new Set<string>();
  const built = manifest.variants.flatMap((v) => v.layers.filter((l) => !l.cached && !seen.has(l.digest) && seen.add(l.digest)).map((l) => `${v.variant}/${l.role} ${l.seconds.toFixed(1)} s ${mib(l.storedBytes)}`));
  console.log(`${label}: ${seconds.toFixed(1)} s (${cpu.toFixed(1)} s CPU), ${mib(manifest.storedBytes)} stored in layers; built: ${built.join(", ") || "nothing"}`);
  return { seconds, cpu, manifest };
}

/** What the light variant's tomcat is configured with, read from its built image (not timed): heap and request threads from its config. */
function serviceConfig(manifest: Manifest): void {
  const light = manifest.variants.find((v) => v.variant === "light")!;
  const raw = join(work, "light.raw");
  execFileSync("qemu-img", ["convert", "-O", "raw", light.artifact, raw]);
  const read = (path: string) => execFileSync("debugfs", ["-R", `cat ${path}`, raw], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const javaOpts = /^JAVA_OPTS=.*$/m.exec(read("/etc/default/tomcat10"))?.[0];
  const connector = /<Connector [^>]*port="8080"[^>]*>/.exec(read("/etc/tomcat10/server.xml"))?.[0].replace(/\s+/g, " ");
  rmSync(raw, { force: true });
  console.log(`light's tomcat: ${javaOpts}; ${connector}`);
  if (!javaOpts?.includes("-Xmx512m") || !connector?.includes('maxThreads="25"')) throw new Error("the light variant's heap or thread pool did not reach tomcat's configuration");
}

async function fullBuilds(packages: Record<string, string[]>): Promise<Timed & { bytes: number }> {
  let seconds = 0;
  let bytes = 0;
  const cpuBefore = childCpu();
  for (const [variant, set] of Object.entries(packages)) {
    const root = join(work, `full-${variant}`);
    const raw = join(work, `full-${variant}.raw`);
    const image = join(work, `full-${variant}.qcow2`);
    const started = Date.now();
    await runMmdebstrap({ suite: "bookworm", packages: set, target: root, sources: HOST_SOURCES, debCache: debs }, EPOCH);
    const used = Number(execFileSync("du", ["-sb", root], { encoding: "utf8" }).split(/\s/)[0]);
    await mkfsFromDir(root, raw, fsBytesFor(used), `sha256:${"0".repeat(64)}`, EPOCH);
    await qcow2(raw, image);
    const took = (Date.now() - started) / 1000;
    seconds += took;
    bytes += storedBytes(image);
    console.log(`  full build ${variant}: ${took.toFixed(1)} s, ${mib(storedBytes(image))} qcow2 (${set.length} packages)`);
    rmSync(root, { recursive: true, force: true });
    rmSync(raw, { force: true });
  }
  return { seconds, cpu: childCpu() - cpuBefore, bytes };
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  if (process.getuid?.() !== 0) throw new Error("run as root: builds use mmdebstrap --mode=root and loop mounts");
  symlinkSync(join(repo, "node_modules"), join(work, "node_modules"));
  const program = readFileSync(join(repo, "examples/java-appserver/infra.ts"), "utf8");
  writeFileSync(join(work, "infra.ts"), program);
  cli(["images", "lock"]); // against the mirror the host's apt lists describe now
  const lock = readLockfile(join(work, "virtform.lock"))!;
  const variants = lock.images["image.appserver"]!;
  const packages = Object.fromEntries(Object.entries(variants).map(([v, e]) => [v, e.packages.map((p) => `${p.name}=${p.version}`)]));

  // Prefetch every .deb both sides install, so the comparison is of building, not downloading.
  mkdirSync(debs, { recursive: true });
  const all = [...new Set(Object.values(packages).flat())];
  const fetched = spawnSync("apt-get", ["download", ...all], { cwd: debs, encoding: "utf8" });
  if (fetched.status !== 0) throw new Error(`apt-get download failed:\n${fetched.stderr}`);
  console.log(`prefetched ${all.length} packages; ${Object.entries(packages).map(([v, s]) => `${v} ${s.length}`).join(", ")} packages per variant`);
  console.log(`machine: ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores, shared with other work (timings are noisy)`);

  const cold = layered("layered cold (3 variants)");
  serviceConfig(cold.manifest);
  const warm = layered("layered warm (nothing changed)");
  writeFileSync(join(work, "infra.ts"), program.replace("heapMiB: 2048", "heapMiB: 3072"));
  const changed = layered("layered warm after moderate's heapMiB 2048 -> 3072");
  const full = await fullBuilds(packages);
  console.log(`three full builds: ${full.seconds.toFixed(1)} s (${full.cpu.toFixed(1)} s CPU), ${mib(full.bytes)} stored`);
  // Bytes a layered build keeps for the three variants: the cold build's layers (the config change adds one overlay).
  const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
  const rows: Row[] = [
    { what: "cold build of 3 variants, wall", unit: "s", ours: cold.seconds, peer: full.seconds, peerName: "3 full mmdebstrap builds", ratio: ratio(cold.seconds, full.seconds), ratioMeaning: "ours / peer", target: "<= 0.6x", met: cold.seconds / full.seconds <= 0.6 },
    { what: "cold build of 3 variants, CPU", unit: "s", ours: cold.cpu, peer: full.cpu, peerName: "3 full mmdebstrap builds", ratio: ratio(cold.cpu, full.cpu), ratioMeaning: "ours / peer", target: "<= 0.6x", met: cold.cpu / full.cpu <= 0.6 },
    { what: "bytes stored", unit: "MiB", ours: Math.round(cold.manifest.storedBytes / 1024 ** 2), peer: Math.round(full.bytes / 1024 ** 2), peerName: "3 full qcow2 images", ratio: ratio(cold.manifest.storedBytes, full.bytes), ratioMeaning: "ours / peer", target: "<= 0.5x", met: cold.manifest.storedBytes / full.bytes <= 0.5 },
    { what: "warm rebuild, nothing changed", unit: "s", ours: warm.seconds },
    { what: "warm rebuild after one variant's config changed", unit: "s", ours: changed.seconds, target: "<= 10 s", met: changed.seconds <= 10 },
  ];
  console.log(
    [
      "",
      `time  cold layered / full: ${cold.seconds.toFixed(1)} / ${full.seconds.toFixed(1)} s = ${(cold.seconds / full.seconds).toFixed(2)}x (target <= 0.6x)`,
      `CPU   cold layered / full: ${cold.cpu.toFixed(1)} / ${full.cpu.toFixed(1)} s = ${(cold.cpu / full.cpu).toFixed(2)}x`,
      `bytes cold layered / full: ${mib(cold.manifest.storedBytes)} / ${mib(full.bytes)} = ${(cold.manifest.storedBytes / full.bytes).toFixed(2)}x (target <= 0.5x)`,
      `warm rebuild, nothing changed: ${warm.seconds.toFixed(1)} s (${warm.cpu.toFixed(1)} s CPU)`,
      `warm rebuild after one variant's config changed: ${changed.seconds.toFixed(1)} s (${changed.cpu.toFixed(1)} s CPU; target <= 10 s)`,
      `load average before / after: ${loadBefore.map((l) => l.toFixed(1)).join(" ")} / ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
    ].join("\n"),
  );
  emitResult(json, {
    benchmark: "images-build",
    command: commandOf("bench/images-build/bench.ts"),
    rows,
    notes: [`load average before ${loadBefore.map((l) => l.toFixed(1)).join(" / ")}, after ${loadavg().map((l) => l.toFixed(1)).join(" / ")} (1 / 5 / 15 min)`],
  });
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
