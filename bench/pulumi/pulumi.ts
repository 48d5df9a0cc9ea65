// The Pulumi path against the native DSL on the engine benchmark's graph (issue 13, point 7).
//   node bench/pulumi/pulumi.ts [N...]        default: 100 1000
// For each N, two fresh working directories: the native program (bench/engine/program.ts) and the
// same graph as a Pulumi program (program.ts here), each run by the real `virtform` binary under
// /usr/bin/time: graph (the program's evaluation alone), first plan, apply of N creates, no-op plan;
// wall time, CPU time (user + system, the program's process included) and peak RSS.
// Peak RSS is the largest process's: for --pulumi, the CLI's or the program's (they run one after
// the other's answers, so the larger is reported, not their sum).
// Target: the Pulumi path at most 4x the native one at N=1,000.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { programSource } from "../engine/program.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { pulumiProgramSource } from "./program.ts";

const json = takeJsonFlag();
const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "bin", "virtform.mjs");
const sizes = process.argv.slice(2).map(Number);
const ns = sizes.length > 0 ? sizes : [100, 1000];

interface Measure {
  seconds: number;
  /** User plus system CPU of the command and the program it runs: steadier than wall time on a busy machine. */
  cpuSeconds: number;
  rssMiB: number;
}

function virtform(dir: string, args: string[]): Measure {
  const timing = join(dir, "time.txt");
  const result = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timing, bin, ...args], {
    cwd: dir,
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, NO_COLOR: "1", CI: "1" },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`virtform ${args.join(" ")} exited ${result.status}: ${result.stderr.toString().slice(0, 2000)}`);
  const [seconds, user, system, kib] = execFileSync("cat", [timing]).toString().trim().split(/\s+/).slice(-4).map(Number) as [number, number, number, number];
  return { seconds, cpuSeconds: user + system, rssMiB: kib / 1024 };
}

const steps = [
  ["graph", ["graph"]],
  ["first plan", ["plan"]],
  ["apply N creates", ["apply", "--yes"]],
  ["no-op plan", ["plan"]],
] as const;
const fmt = (m: Measure) => `${m.seconds.toFixed(2)} s (cpu ${m.cpuSeconds.toFixed(2)} s) / ${Math.round(m.rssMiB)} MiB`;

console.log(`Pulumi path vs native DSL: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`);
const result: Row[] = [];
const lines: string[] = [`| N | path | ${steps.map(([name]) => name).join(" | ")} |`, `| ---: | --- | ${steps.map(() => "---:").join(" | ")} |`];
for (const n of ns) {
  const native = mkdtempSync(join(tmpdir(), `virtform-bench-native-${n}-`));
  const pulumi = mkdtempSync(join(tmpdir(), `virtform-bench-pulumi-${n}-`));
  try {
    writeFileSync(join(native, "infra.ts"), programSource({ n }));
    writeFileSync(join(pulumi, "Pulumi.yaml"), "name: bench\nruntime: nodejs\n");
    writeFileSync(join(pulumi, "package.json"), '{ "name": "bench", "private": true, "type": "module" }\n');
    writeFileSync(join(pulumi, "index.ts"), pulumiProgramSource(n));
    const rows = { native: [] as Measure[], pulumi: [] as Measure[] };
    for (const [, args] of steps) {
      rows.native.push(virtform(native, [...args]));
      rows.pulumi.push(virtform(pulumi, [...args, "--pulumi"]));
    }
    for (const path of ["native", "pulumi"] as const) lines.push(`| ${n.toLocaleString("en")} | ${path} | ${rows[path].map(fmt).join(" | ")} |`);
    const ratio = (i: number, of: "seconds" | "cpuSeconds") => (rows.pulumi[i]![of] / rows.native[i]![of]).toFixed(1);
    lines.push(`| | ratio | ${steps.map((_, i) => `${ratio(i, "seconds")}x (cpu ${ratio(i, "cpuSeconds")}x)`).join(" | ")} |`);
    console.log(lines.slice(-3).join("\n"));
    // CPU seconds: steadier than wall time on a shared machine; the target is stated at N=1,000.
    steps.forEach(([name], i) => {
      const ours = rows.pulumi[i]!.cpuSeconds;
      const peer = rows.native[i]!.cpuSeconds;
      result.push({
        what: `${name}, N=${n.toLocaleString("en")}, CPU`,
        unit: "s",
        ours,
        peer,
        peerName: "native DSL",
        ratio: ours / peer,
        ratioMeaning: "Pulumi path / native",
        ...(n === 1000 && { target: "<= 4x", met: ours / peer <= 4 }),
      });
    });
  } finally {
    rmSync(native, { recursive: true, force: true });
    rmSync(pulumi, { recursive: true, force: true });
  }
}
console.log(`\n${lines.join("\n")}`);
emitResult(json, { benchmark: "pulumi", command: commandOf("bench/pulumi/pulumi.ts"), rows: result });
