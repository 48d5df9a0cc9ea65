// Benchmark of the plan/apply engine on the embedded emulator (issue 3, point 11).
//   npx tsx bench/engine/engine.ts [N...]        default: 1000 5000 10000
// For each N, in a fresh working directory, the real `virtform` binary is run as a user runs it
// (each command its own process, the bin file through its shebang, under /usr/bin/time for peak RSS): first plan, apply of N creates,
// no-op plan (with refresh), plan of a 1 % edit, apply of that edit. Then, for N=5000 (or the
// largest N below it), the same apply and no-op plan once more in-process (bench/engine/phases.ts)
// to split the time by phase. The shape of the programs is described in program.ts.
// Targets (issue 3): no-op plan at N=5,000 <= 0.5 s; apply of 5,000 creates <= 5 s; peak RSS <= 250 MiB;
// apply time linear in N.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { programSource } from "./program.ts";

const json = takeJsonFlag();
const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "bin", "virtform.mjs");
const sizes = process.argv.slice(2).map(Number);
const ns = sizes.length > 0 ? sizes : [1000, 5000, 10000];
if (ns.some((n) => !Number.isInteger(n) || n < 100)) throw new Error("N must be whole numbers >= 100");

interface Measure {
  seconds: number;
  rssMiB: number;
}

/** Runs `virtform args` in dir under /usr/bin/time; output goes to a file (a plan of 10,000 lines is part of the work). */
function virtform(dir: string, args: string[]): Measure {
  const timing = join(dir, "time.txt");
  // The bin itself, as `virtform` on PATH or `npx virtform` runs it: its shebang's Node flags apply.
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", timing, bin, ...args], {
    cwd: dir,
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, NO_COLOR: "1", CI: "1" },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`virtform ${args.join(" ")} exited ${result.status}: ${result.stderr.toString().slice(0, 2000)}`);
  const [seconds, kib] = execFileSync("cat", [timing]).toString().trim().split(/\s+/).slice(-2).map(Number) as [number, number];
  return { seconds, rssMiB: kib / 1024 };
}

function phases(dir: string, mode: "plan" | "apply"): { phases: Record<string, number>; total: number; maxRssMiB: number } {
  const out = execFileSync(process.execPath, ["--max-semi-space-size=4", join(root, "bench/engine/phases.ts"), mode, dir], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString().trim().split("\n").at(-1)!);
}

const columns = ["first plan", "apply N creates", "no-op plan", "1% edit plan", "1% edit apply"] as const;
const rows: { n: number; m: Record<(typeof columns)[number], Measure> }[] = [];
const fmt = (m: Measure) => `${m.seconds.toFixed(2)} s / ${Math.round(m.rssMiB)} MiB`;

console.log(`engine benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`);
for (const n of ns) {
  const dir = mkdtempSync(join(tmpdir(), `virtform-bench-${n}-`));
  try {
    writeFileSync(join(dir, "infra.ts"), programSource({ n }));
    const m = {} as Record<(typeof columns)[number], Measure>;
    m["first plan"] = virtform(dir, ["plan"]);
    m["apply N creates"] = virtform(dir, ["apply", "--yes"]);
    m["no-op plan"] = virtform(dir, ["plan"]);
    writeFileSync(join(dir, "infra.ts"), programSource({ n, edits: Math.max(1, Math.round(n / 100)) }));
    m["1% edit plan"] = virtform(dir, ["plan"]);
    m["1% edit apply"] = virtform(dir, ["apply", "--yes"]);
    rows.push({ n, m });
    console.log(`N=${n}: ${columns.map((c) => `${c} ${fmt(m[c])}`).join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\n| N | ${columns.join(" | ")} |\n| ---: | ${columns.map(() => "---:").join(" | ")} |`);
for (const { n, m } of rows) console.log(`| ${n.toLocaleString("en")} | ${columns.map((c) => fmt(m[c])).join(" | ")} |`);
const base = rows[0]!;
console.log(
  `\napply time per resource: ${rows.map(({ n, m }) => `N=${n} ${((m["apply N creates"].seconds / n) * 1000).toFixed(2)} ms`).join(", ")}` +
    (rows.length > 1 ? ` (linear means equal; N=${rows.at(-1)!.n} is ${(rows.at(-1)!.m["apply N creates"].seconds / rows.at(-1)!.n / (base.m["apply N creates"].seconds / base.n)).toFixed(2)}x N=${base.n})` : ""),
);

// Issue 3's targets, at N=5,000.
const targets: Partial<Record<(typeof columns)[number], number>> = { "apply N creates": 5, "no-op plan": 0.5 };
const result: Row[] = rows.flatMap(({ n, m }) => [
  ...columns.map((c): Row => {
    const target = n === 5000 ? targets[c] : undefined;
    return { what: `${c}, N=${n.toLocaleString("en")}`, unit: "s", ours: m[c].seconds, ...(target !== undefined && { target: `<= ${target} s`, met: m[c].seconds <= target }) };
  }),
  { what: `peak RSS of any command, N=${n.toLocaleString("en")}`, unit: "MiB", ours: Math.round(Math.max(...columns.map((c) => m[c].rssMiB))), ...(n === 5000 && { target: "<= 250 MiB", met: Math.max(...columns.map((c) => m[c].rssMiB)) <= 250 }) },
]);
emitResult(json, { benchmark: "engine", command: commandOf("bench/engine/engine.ts"), rows: result });

// Where the time goes, at N=5000 (or the largest N up to it).
const splitN = ns.includes(5000) ? 5000 : Math.max(...ns.filter((n) => n <= 5000), ns[0]!);
const dir = mkdtempSync(join(tmpdir(), `virtform-bench-phases-`));
try {
  writeFileSync(join(dir, "infra.ts"), programSource({ n: splitN }));
  const apply = phases(dir, "apply");
  const noop = phases(dir, "plan");
  const names = [...new Set([...Object.keys(apply.phases), ...Object.keys(noop.phases)])];
  console.log(`\ntime by phase at N=${splitN} (in-process, s):\n| run | ${names.join(" | ")} | total | peak RSS |\n| --- | ${names.map(() => "---:").join(" | ")} | ---: | ---: |`);
  for (const [name, run] of [["apply N creates", apply], ["no-op plan", noop]] as const) {
    console.log(`| ${name} | ${names.map((p) => (run.phases[p] ?? 0).toFixed(2)).join(" | ")} | ${run.total.toFixed(2)} | ${Math.round(run.maxRssMiB)} MiB |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
