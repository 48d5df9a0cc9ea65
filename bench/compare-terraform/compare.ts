// virtform side by side with Terraform on the engine benchmark's graph (issue 14, point 5).
//   node bench/compare-terraform/compare.ts [--n 100,1000,5000] [--runs 3] [--upto plan|apply|...] [--tools ...] [--json]
// Three tools, each run as a user runs it (one process per command, under /usr/bin/time for wall time,
// CPU time and peak RSS, in a fresh working directory):
//   virtform            the native CLI on the embedded emulator (bench/engine/program.ts)
//   terraform_data      Terraform with its built-in terraform_data: Terraform's own cost
//   terraform+virtform  Terraform driving virtform's provider on the embedded emulator
//   terraform+floor     (not by default) terraform_data's graph through the bench's floor provider
//                       (floor-provider.ts): the cost of any external provider on our transport
//   terraform+floor-schema  (not by default) our provider's configuration through the floor provider
//                       with our resource schemas: what our schema costs Terraform, without our work
// Commands: plan on empty state, apply, no-op plan, plan of a 1 % edit, destroy. Runs alternate the
// tools (run r starts with the r-th tool, cyclically); each cell is the median of the runs, with min-max.
// Peak RSS is the largest single process (for terraform+virtform, terraform or one provider launch).
// Targets at N=5,000: virtform plan >= 15x and apply >= 100x faster than terraform_data; terraform
// with virtform's provider within 1.3x of terraform_data.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { programSource } from "../engine/program.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";
import { terraformDataConfig, virtformConfig, type GraphShape } from "./configs.ts";

const json = takeJsonFlag();
const root = fileURLToPath(new URL("../..", import.meta.url));
const argument = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
};
const ns = argument("n", "100,1000,5000").split(",").map(Number);
const runs = Number(argument("runs", "3"));

const ALL_TOOLS = ["virtform", "terraform_data", "terraform+virtform", "terraform+floor", "terraform+floor-schema"] as const;
type Tool = (typeof ALL_TOOLS)[number];
// --tools virtform,terraform_data: measure only these (the ratios with a tool left out are not printed).
const TOOLS = argument("tools", ALL_TOOLS.slice(0, 3).join(",")).split(",") as Tool[];
if (TOOLS.some((t) => !ALL_TOOLS.includes(t))) throw new Error(`--tools takes some of ${ALL_TOOLS.join(", ")}`);
const COMMANDS = ["plan", "apply", "no-op plan", "1% edit plan", "destroy"] as const;
type Command = (typeof COMMANDS)[number];
// --upto plan|apply|...: stop after that command (Terraform's apply and destroy of 5,000 resources take tens of minutes).
const upto = argument("upto", "destroy") as Command;
if (!COMMANDS.includes(upto)) throw new Error(`--upto takes one of ${COMMANDS.join(", ")}`);
const commands = COMMANDS.slice(0, COMMANDS.indexOf(upto) + 1);

interface Measure {
  seconds: number;
  /** User plus system CPU of the command and the processes it waited for (Terraform's provider launches): steadier than wall time on a busy machine. */
  cpuSeconds: number;
  /** The part of cpuSeconds spent in the provider's launches (Terraform's is the rest). */
  providerCpuSeconds: number;
  rssMiB: number;
}

function timed(dir: string, command: string[], env: NodeJS.ProcessEnv): Measure {
  const timing = join(dir, "time.txt");
  const result = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timing, ...command], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${command.join(" ")} exited ${result.status}: ${result.stderr.toString().slice(0, 2000)}`);
  const [seconds, user, system, kib] = readFileSync(timing, "utf8").trim().split(/\s+/).slice(-4).map(Number) as [number, number, number, number];
  // Each provider launch appends its user and system CPU (the plugin wrapper, pluginDir).
  const launches = join(dir, "providers.txt");
  const providerCpuSeconds = existsSync(launches)
    ? readFileSync(launches, "utf8").trim().split("\n").map((line) => line.split(" ").map(Number)).filter((f) => f.length === 2 && f.every(Number.isFinite)).reduce((sum, [u, s]) => sum + u! + s!, 0)
    : 0;
  rmSync(launches, { force: true });
  return { seconds, cpuSeconds: user + system, providerCpuSeconds, rssMiB: kib / 1024 };
}

/** Writes the graph's program or configuration (with the 1 % edit when edits > 0) and runs the tool's commands. */
interface Driver {
  write(edits: number): void;
  plan(): Measure;
  apply(): Measure;
  destroy(): Measure;
}

function driverFor(tool: Tool, dir: string, n: number): Driver {
  if (tool === "virtform") {
    const bin = join(root, "bin", "virtform.mjs");
    const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, NO_COLOR: "1", CI: "1" };
    const run = (...args: string[]) => timed(dir, [bin, ...args], env);
    return {
      write: (edits) => writeFileSync(join(dir, "infra.ts"), programSource({ n, edits })),
      plan: () => run("plan"),
      apply: () => run("apply", "--yes"),
      destroy: () => run("destroy", "--yes"),
    };
  }
  const config =
    tool === "terraform_data" ? terraformDataConfig : tool === "terraform+floor" ? (shape: GraphShape) => terraformDataConfig(shape, "floor_data") : virtformConfig;
  const floorBin = join(root, "bench", "compare-terraform", "floor-bin");
  const [name, bin] =
    tool === "terraform+floor" ? ["floor", join(floorBin, "floor")] : tool === "terraform+floor-schema" ? ["virtform", join(floorBin, "virtform")] : ["virtform", join(root, "bin")];
  writeFileSync(
    join(dir, "cli.tfrc"),
    `provider_installation {\n  dev_overrides {\n    "registry.terraform.io/virtform/${name}" = "${pluginDir(dir, name, bin)}"\n  }\n  direct {}\n}\n`,
  );
  const env = { TF_CLI_CONFIG_FILE: join(dir, "cli.tfrc"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
  const run = (...args: string[]) => timed(dir, ["terraform", ...args, "-no-color", "-input=false"], env);
  return {
    write: (edits) => writeFileSync(join(dir, "main.tf"), config({ n, edits })),
    plan: () => run("plan"),
    apply: () => run("apply", "-auto-approve"),
    destroy: () => run("destroy", "-auto-approve"),
  };
}

/** A dev_overrides directory whose plugin runs the real one under /usr/bin/time, appending its CPU to providers.txt. */
function pluginDir(dir: string, name: string, bin: string): string {
  const plugins = join(dir, "plugins");
  mkdirSync(plugins, { recursive: true });
  const wrapper = join(plugins, `terraform-provider-${name}`);
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -a -o '${join(dir, "providers.txt")}' -f "%U %S" '${join(bin, `terraform-provider-${name}`)}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return plugins;
}

/** The commands up to --upto, in order (each needs the ones before it), each figure printed as it comes. */
function runTool(tool: Tool, n: number): Partial<Record<Command, Measure>> {
  const dir = mkdtempSync(join(tmpdir(), `virtform-compare-${n}-`));
  try {
    const edits = Math.max(1, Math.round(n / 100));
    const driver = driverFor(tool, dir, n);
    const steps: Record<Command, () => Measure> = {
      plan: () => (driver.write(0), driver.plan()),
      apply: () => driver.apply(),
      "no-op plan": () => driver.plan(),
      "1% edit plan": () => (driver.write(edits), driver.plan()),
      destroy: () => (driver.write(0), driver.destroy()),
    };
    const m: Partial<Record<Command, Measure>> = {};
    for (const command of commands) {
      const measure = steps[command]();
      m[command] = measure;
      const provider = tool.startsWith("terraform+") ? ` (provider ${measure.providerCpuSeconds.toFixed(2)} s)` : "";
      console.error(`N=${n} ${tool} ${command}: ${measure.seconds.toFixed(2)} s, cpu ${measure.cpuSeconds.toFixed(2)} s${provider}, ${Math.round(measure.rssMiB)} MiB`);
    }
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cell = (ms: Measure[]) => {
  const s = ms.map((m) => m.seconds);
  const provider = median(ms.map((m) => m.providerCpuSeconds));
  return `${median(s).toFixed(2)} s (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)}), cpu ${median(ms.map((m) => m.cpuSeconds)).toFixed(2)} s${provider > 0 ? ` (provider ${provider.toFixed(2)} s)` : ""}, ${Math.round(median(ms.map((m) => m.rssMiB)))} MiB`;
};

const terraformVersion = execFileSync("terraform", ["version"], { env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" }, stdio: ["ignore", "pipe", "ignore"] }).toString().split("\n")[0];
console.log(`# virtform vs Terraform\n\n${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg().map((l) => l.toFixed(2)).join(" ")}, node ${process.version}, ${terraformVersion}`);
console.log(`command: ${commandOf("bench/compare-terraform/compare.ts")}\n`);
const result: Row[] = [];
// The targets, stated at N=5,000: how many times faster virtform is than terraform_data, and how
// much slower terraform is with our provider than with terraform_data.
const faster: Partial<Record<Command, number>> = { plan: 15, apply: 100 };
const overhead = 1.3;
for (const n of ns) {
  const results = Object.fromEntries(TOOLS.map((t) => [t, [] as Partial<Record<Command, Measure>>[]])) as Record<Tool, Partial<Record<Command, Measure>>[]>;
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < TOOLS.length; k++) {
      const tool = TOOLS[(r + k) % TOOLS.length]!;
      results[tool].push(runTool(tool, n));
    }
  }
  console.log(`## N = ${n.toLocaleString("en")}\n\n| command | ${TOOLS.join(" | ")} | terraform_data / virtform | terraform+virtform / terraform_data |\n| --- | ${TOOLS.map(() => "---:").join(" | ")} | ---: | ---: |`);
  for (const command of commands) {
    const med = (tool: Tool) => median(results[tool].map((m) => m[command]!.seconds));
    const ratio = (a: Tool, b: Tool, digits: number) => (TOOLS.includes(a) && TOOLS.includes(b) ? `${(med(a) / med(b)).toFixed(digits)}x` : "-");
    console.log(
      `| ${command} | ${TOOLS.map((t) => cell(results[t].map((m) => m[command]!))).join(" | ")} | ${ratio("terraform_data", "virtform", 1)} | ${ratio("terraform+virtform", "terraform_data", 2)} |`,
    );
    // Wall time and CPU time, each against the targets: on a machine others share, wall time
    // measures the load as much as the tools.
    for (const [of, label] of [["seconds", "wall"], ["cpuSeconds", "CPU"]] as const) {
      const at = `N=${n.toLocaleString("en")}, ${label}, median of ${runs}`;
      const medOf = (tool: Tool) => median(results[tool].map((m) => m[command]![of]));
      if (!TOOLS.includes("terraform_data")) {
        for (const tool of TOOLS) result.push({ what: `${command}, ${at}: ${tool}`, unit: "s", ours: medOf(tool) });
        continue;
      }
      const speedup = TOOLS.includes("virtform") ? medOf("terraform_data") / medOf("virtform") : Number.NaN;
      const x = faster[command];
      if (TOOLS.includes("virtform")) result.push({
        what: `${command}, ${at}: virtform`,
        unit: "s",
        ours: medOf("virtform"),
        peer: medOf("terraform_data"),
        peerName: "terraform + terraform_data",
        ratio: speedup,
        ratioMeaning: "terraform_data / virtform",
        ...(n === 5000 && x !== undefined && { target: `>= ${x}x`, met: speedup >= x }),
      });
      const cost = TOOLS.includes("terraform+virtform") ? medOf("terraform+virtform") / medOf("terraform_data") : Number.NaN;
      if (TOOLS.includes("terraform+virtform")) result.push({
        what: `${command}, ${at}: terraform + our provider`,
        unit: "s",
        ours: medOf("terraform+virtform"),
        peer: medOf("terraform_data"),
        peerName: "terraform + terraform_data",
        ratio: cost,
        ratioMeaning: "ours / terraform_data",
        ...(n === 5000 && { target: `<= ${overhead}x`, met: cost <= overhead }),
      });
    }
  }
  console.log("");
}
console.log("Targets at N=5,000: terraform_data / virtform >= 15x for plan and >= 100x for apply; terraform+virtform / terraform_data <= 1.3x.");
emitResult(json, { benchmark: "terraform", command: commandOf("bench/compare-terraform/compare.ts"), rows: result, notes: [`${terraformVersion}; each cell the median of ${runs} run(s), tools alternating`] });
