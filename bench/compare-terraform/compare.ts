// virtform side by side with Terraform on the engine benchmark's graph (issue 14, point 5).
//   node bench/compare-terraform/compare.ts [--n 100,1000,5000] [--runs 3] [--json]
// Three tools, each run as a user runs it (one process per command, under /usr/bin/time for wall time
// and peak RSS, in a fresh working directory):
//   virtform            the native CLI on the embedded emulator (bench/engine/program.ts)
//   terraform_data      Terraform with its built-in terraform_data: Terraform's own cost
//   terraform+virtform  Terraform driving virtform's provider on the embedded emulator
// Commands: plan on empty state, apply, no-op plan, plan of a 1 % edit, destroy. Runs alternate the
// tools (run r starts with tool r mod 3); each cell is the median of the runs, with min-max.
// Peak RSS is the largest single process (for terraform+virtform, terraform or one provider launch).
// Targets at N=5,000: virtform plan >= 15x and apply >= 100x faster than terraform_data; terraform
// with virtform's provider within 1.3x of terraform_data.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { programSource } from "../engine/program.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { terraformDataConfig, virtformConfig } from "./configs.ts";

const json = takeJsonFlag();
const root = fileURLToPath(new URL("../..", import.meta.url));
const argument = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
};
const ns = argument("n", "100,1000,5000").split(",").map(Number);
const runs = Number(argument("runs", "3"));

const TOOLS = ["virtform", "terraform_data", "terraform+virtform"] as const;
type Tool = (typeof TOOLS)[number];
const COMMANDS = ["plan", "apply", "no-op plan", "1% edit plan", "destroy"] as const;
type Command = (typeof COMMANDS)[number];

interface Measure {
  seconds: number;
  rssMiB: number;
}

function timed(dir: string, command: string[], env: NodeJS.ProcessEnv): Measure {
  const timing = join(dir, "time.txt");
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", timing, ...command], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${command.join(" ")} exited ${result.status}: ${result.stderr.toString().slice(0, 2000)}`);
  const [seconds, kib] = readFileSync(timing, "utf8").trim().split(/\s+/).slice(-2).map(Number) as [number, number];
  return { seconds, rssMiB: kib / 1024 };
}

function runTool(tool: Tool, n: number): Record<Command, Measure> {
  const dir = mkdtempSync(join(tmpdir(), `virtform-compare-${n}-`));
  try {
    const edits = Math.max(1, Math.round(n / 100));
    if (tool === "virtform") {
      const bin = join(root, "bin", "virtform.mjs");
      const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, NO_COLOR: "1", CI: "1" };
      const run = (...args: string[]) => timed(dir, [bin, ...args], env);
      writeFileSync(join(dir, "infra.ts"), programSource({ n }));
      const m = { plan: run("plan"), apply: run("apply", "--yes"), "no-op plan": run("plan") } as Record<Command, Measure>;
      writeFileSync(join(dir, "infra.ts"), programSource({ n, edits }));
      m["1% edit plan"] = run("plan");
      writeFileSync(join(dir, "infra.ts"), programSource({ n }));
      m.destroy = run("destroy", "--yes");
      return m;
    }
    const config = tool === "terraform_data" ? terraformDataConfig : virtformConfig;
    writeFileSync(
      join(dir, "cli.tfrc"),
      `provider_installation {\n  dev_overrides {\n    "registry.terraform.io/virtform/virtform" = "${join(root, "bin")}"\n  }\n  direct {}\n}\n`,
    );
    const env = { TF_CLI_CONFIG_FILE: join(dir, "cli.tfrc"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
    const run = (...args: string[]) => timed(dir, ["terraform", ...args, "-no-color", "-input=false"], env);
    writeFileSync(join(dir, "main.tf"), config({ n }));
    const m = { plan: run("plan"), apply: run("apply", "-auto-approve"), "no-op plan": run("plan") } as Record<Command, Measure>;
    writeFileSync(join(dir, "main.tf"), config({ n, edits }));
    m["1% edit plan"] = run("plan");
    writeFileSync(join(dir, "main.tf"), config({ n }));
    m.destroy = run("destroy", "-auto-approve");
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cell = (ms: Measure[]) => {
  const s = ms.map((m) => m.seconds);
  return `${median(s).toFixed(2)} s (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)}), ${Math.round(median(ms.map((m) => m.rssMiB)))} MiB`;
};

const terraformVersion = execFileSync("terraform", ["version"], { env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" }, stdio: ["ignore", "pipe", "ignore"] }).toString().split("\n")[0];
console.log(`# virtform vs Terraform\n\n${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(2)).join(" ")}, node ${process.version}, ${terraformVersion}`);
console.log(`command: node bench/compare-terraform/compare.ts --n ${ns.join(",")} --runs ${runs}\n`);
const result: Row[] = [];
// The targets, stated at N=5,000: how many times faster virtform is than terraform_data, and how
// much slower terraform is with our provider than with terraform_data.
const faster: Partial<Record<Command, number>> = { plan: 15, apply: 100 };
const overhead = 1.3;
for (const n of ns) {
  const results = Object.fromEntries(TOOLS.map((t) => [t, [] as Record<Command, Measure>[]])) as Record<Tool, Record<Command, Measure>[]>;
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < TOOLS.length; k++) {
      const tool = TOOLS[(r + k) % TOOLS.length]!;
      results[tool].push(runTool(tool, n));
    }
  }
  console.log(`## N = ${n.toLocaleString("en")}\n\n| command | ${TOOLS.join(" | ")} | terraform_data / virtform | terraform+virtform / terraform_data |\n| --- | ${TOOLS.map(() => "---:").join(" | ")} | ---: | ---: |`);
  for (const command of COMMANDS) {
    const med = (tool: Tool) => median(results[tool].map((m) => m[command].seconds));
    console.log(
      `| ${command} | ${TOOLS.map((t) => cell(results[t].map((m) => m[command]))).join(" | ")} | ${(med("terraform_data") / med("virtform")).toFixed(1)}x | ${(med("terraform+virtform") / med("terraform_data")).toFixed(2)}x |`,
    );
    const at = `N=${n.toLocaleString("en")}, median of ${runs}`;
    const speedup = med("terraform_data") / med("virtform");
    const x = faster[command];
    result.push({
      what: `${command}, ${at}: virtform`,
      unit: "s",
      ours: med("virtform"),
      peer: med("terraform_data"),
      peerName: "terraform + terraform_data",
      ratio: speedup,
      ratioMeaning: "terraform_data / virtform",
      ...(n === 5000 && x !== undefined && { target: `>= ${x}x`, met: speedup >= x }),
    });
    const cost = med("terraform+virtform") / med("terraform_data");
    result.push({
      what: `${command}, ${at}: terraform + our provider`,
      unit: "s",
      ours: med("terraform+virtform"),
      peer: med("terraform_data"),
      peerName: "terraform + terraform_data",
      ratio: cost,
      ratioMeaning: "ours / terraform_data",
      ...(n === 5000 && { target: `<= ${overhead}x`, met: cost <= overhead }),
    });
  }
  console.log("");
}
console.log("Targets at N=5,000: terraform_data / virtform >= 15x for plan and >= 100x for apply; terraform+virtform / terraform_data <= 1.3x.");
emitResult(json, { benchmark: "terraform", command: commandOf("bench/compare-terraform/compare.ts"), rows: result, notes: [`${terraformVersion}; each cell the median of ${runs} run(s), tools alternating`] });
