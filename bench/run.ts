// `npm run bench [-- --quick] [--only engine,terraform] [--out BENCHMARKS.md]`: every benchmark of
// the repository, one after the other (they would slow each other down side by side), each its own
// process with --json; then the generated section of BENCHMARKS.md is rewritten (bench/report.ts).
// --quick runs each with small sizes so that all of it fits in about 5 minutes on 2 cores; without
// it, each runs its full default sizes: hours, most of them Terraform's applies and destroys of 5,000
// resources (tens of minutes each, three runs per tool).
// A benchmark whose tools are missing (terraform, nbdkit ...) is listed as not run, not failed.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderSection, spliceSection, type Outcome } from "./report.ts";
import type { BenchResult } from "./result.ts";

interface Benchmark {
  name: string;
  script: string;
  /** Arguments of the full run and of --quick (none: not run with --quick). */
  full: string[];
  quick: string[] | undefined;
  /** Commands that must be on the PATH. */
  needs?: string[];
  /** Why it cannot run here, beyond missing commands (undefined: it can). */
  unavailable?: () => string | undefined;
}

// One line per benchmark: adding a benchmark is adding its line (its script must support --json, see bench/result.ts).
const BENCHMARKS: Benchmark[] = [
  { name: "engine", script: "bench/engine/engine.ts", full: [], quick: ["1000"] },
  { name: "placement", script: "bench/placement/placement.ts", full: [], quick: ["--instances", "20000", "--hosts", "2000", "--http", "500", "--budget", "5"] },
  { name: "volumes", script: "bench/volumes/nbd.ts", full: [], quick: ["--size", "128"], needs: ["qemu-img", "qemu-nbd", "nbdkit"] },
  { name: "volumes-tls", script: "bench/volumes/nbd-tls.ts", full: [], quick: ["--size", "64"], needs: ["nbdcopy", "nbdkit"] },
  { name: "images", script: "bench/images/resolve.ts", full: [], quick: ["--apt-sets", "3"], needs: ["apt-get"], unavailable: aptListsMissing },
  { name: "pulumi", script: "bench/pulumi/pulumi.ts", full: [], quick: ["100"] },
  { name: "terraform", script: "bench/compare-terraform/compare.ts", full: [], quick: ["--n", "100", "--runs", "1"], needs: ["terraform"] },
  { name: "terraform-transport", script: "bench/compare-terraform/transport.ts", full: [], quick: ["--calls", "5000", "--runs", "3"] },
  { name: "review", script: "bench/review/review.ts", full: [], quick: [] },
  // Minutes of TCG domains on two local libvirt hosts it makes (Unix users, their daemons, an sshd): full runs only.
  { name: "libvirt", script: "bench/libvirt/bench.ts", full: [], quick: undefined, needs: ["virsh", "qemu-system-x86_64"], unavailable: notRoot },
  // Real images built twice over (about 10 minutes): full runs only.
  {
    name: "images-build",
    script: "bench/images-build/bench.ts",
    full: [],
    quick: undefined,
    needs: ["mmdebstrap", "qemu-img", "qemu-storage-daemon", "mkfs.ext4"],
    unavailable: () => (process.getuid?.() !== 0 ? "needs root (mmdebstrap --mode=root, loop mounts)" : aptListsMissing()),
  },
];

const root = fileURLToPath(new URL("..", import.meta.url));
const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
};
const quick = argv.includes("--quick");
const only = option("only")?.split(",");
const out = resolve(root, option("out") ?? "BENCHMARKS.md");
const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`npm run bench: no benchmark named ${unknown.join(", ")}; there are ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  process.exit(2);
}

function aptListsMissing(): string | undefined {
  const dir = "/var/lib/apt/lists";
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith("_Packages") || f.includes("_Packages.")) ? undefined : "no apt Packages lists (run apt-get update)";
}

function notRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : "needs root (it creates the test hosts' users and daemons)";
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, command)));
}

/** Runs one benchmark's script with --json; its tables stream to our stderr as it goes. */
function run(benchmark: Benchmark): Promise<Outcome> {
  const args = [join(root, benchmark.script), ...((quick ? benchmark.quick : benchmark.full) ?? []), "--json"];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0) return resolve({ name: benchmark.name, failed: `exited with ${signal ?? code} (its output is above)` });
      try {
        resolve({ name: benchmark.name, result: JSON.parse(last) as BenchResult });
      } catch {
        resolve({ name: benchmark.name, failed: "printed no JSON result (a script without --json support?)" });
      }
    });
  });
}

function terraformVersion(): string {
  try {
    const text = execFileSync("terraform", ["version"], { env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" }, stdio: ["ignore", "pipe", "ignore"] });
    return text.toString().split("\n")[0]!;
  } catch {
    return "no terraform";
  }
}

const started = new Date();
const loadBefore = loadavg();
const outcomes: Outcome[] = [];
for (const benchmark of BENCHMARKS.filter((b) => !only || only.includes(b.name))) {
  const missing = (benchmark.needs ?? []).filter((c) => !onPath(c));
  const why = quick && !benchmark.quick ? "full runs only" : missing.length > 0 ? `${missing.join(", ")} not on the PATH` : benchmark.unavailable?.();
  if (why) {
    outcomes.push({ name: benchmark.name, skipped: why });
    console.error(`\n== ${benchmark.name}: not run (${why})`);
    continue;
  }
  console.error(`\n== ${benchmark.name}: node ${benchmark.script} ${((quick ? benchmark.quick : benchmark.full) ?? []).join(" ")}`);
  const began = performance.now();
  outcomes.push(await run(benchmark));
  console.error(`== ${benchmark.name}: ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

const section = renderSection(
  {
    date: started.toISOString(),
    commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim(),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    seconds: (Date.now() - started.getTime()) / 1000,
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown CPU",
    loadBefore,
    loadAfter: loadavg(),
    node: process.version,
    terraform: terraformVersion(),
  },
  outcomes,
);
writeFileSync(out, spliceSection(existsSync(out) ? readFileSync(out, "utf8") : "# Benchmarks\n", section));
console.error(`\nwrote the generated section of ${out}`);
process.exitCode = outcomes.some((o) => "failed" in o) ? 1 : 0;
