// The libvirt backend against a plain sequential virsh script (issue 17, point 6).
//   node bench/libvirt/bench.ts [--n 20] [--plan-domains 100] [--plan-runs 7] [--plan-only] [--json]
// On this machine's two test hosts (test/helpers/libvirt-hosts.ts: two users' session daemons, one
// over qemu+ssh; needs root). Both sides make the same thing: n domains spread over the two hosts,
// each booting a qcow2 overlay of one shared image, started, with a volume of its own attached; then
// remove it all. virtform: `virtform apply --yes` and `virtform destroy --yes` (parallel apply);
// the script: one `virsh` command after another, as a shell script would run them.
// Then a no-op `virtform plan` (with its refresh) over --plan-domains stopped one-vCPU domains on the
// 2 hosts (2 CPUs each: the cluster overcommits CPU 32x), run as a user runs it, --plan-runs times:
// the median with ssh connection sharing (README's recommended ~/.ssh/config: the handshake is paid
// once, not per run) and without it (each run opens its own ssh connection).
// Targets: virtform at most 0.6x the script's wall time for create and for destroy; the no-op plan
// over 100 domains under 1 s.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLibvirtHosts, type LibvirtHosts } from "../../test/helpers/libvirt-hosts.ts";
import { commandOf, emitResult, takeJsonFlag, type Row } from "../result.ts";

const json = takeJsonFlag();

const root = fileURLToPath(new URL("../..", import.meta.url));
const argument = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
};
const n = Number(argument("n", "20"));
const planDomains = Number(argument("plan-domains", "100"));
const planRuns = Number(argument("plan-runs", "7"));
/** Only the no-op plan part (the 20-instance comparison takes minutes). */
const planOnly = process.argv.includes("--plan-only");
const env = { ...process.env, NO_COLOR: "1", VIRTFORM_APT_LISTS: join(root, "test", "fixtures", "apt-lists") };

function program(count: number, powerState: "running" | "stopped", volumes: boolean): string {
  return `import { stack } from "virtform";
export default stack("bench", (s) => {
  const pool = s.storagePool("local", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("tiny", { base: "debian-12", variants: { plain: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 }, overcommit: { cpu: 32, memory: 1 } });
  const app = web.instances("app", { count: ${count}, image: img.variant("plain"), vcpu: 1, memoryGiB: 0.0625, powerState: "${powerState}", placement: { maxPerHost: ${Math.ceil(count / 2)} } });
  ${volumes ? `for (let i = 0; i < ${count}; i++) pool.volume(\`data-\${i}\`, { sizeGiB: 0.0625 }).attachTo(app.members[i]!);` : ""}
  return {};
});
`;
}

function virtform(dir: string, ...args: string[]): number {
  return virtformWith({}, dir, ...args).wall;
}

/** CPU seconds (user + sys) of this process's waited-for children so far (Linux: /proc/self/stat's cutime and cstime, in clock ticks). */
function childrenCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** One CLI run: its wall time, and the CPU time of the virtform process and the children it waited for (virsh, ssh). */
function virtformWith(extra: NodeJS.ProcessEnv, dir: string, ...args: string[]): { wall: number; cpu: number } {
  const cpuBefore = childrenCpu();
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(root, "bin", "virtform.mjs"), ...args], { cwd: dir, env: { ...env, ...extra }, encoding: "utf8" });
  const wall = (performance.now() - started) / 1000;
  if (r.status !== 0 && !(args.includes("--detailed-exitcode") && r.status === 2)) throw new Error(`virtform ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout.slice(-2000)}`);
  return { wall, cpu: childrenCpu() - cpuBefore };
}

/** The same work as one virsh process per command, one after another. */
function script(hosts: LibvirtHosts, count: number): { create: number; destroy: number } {
  const work = mkdtempSync(join(tmpdir(), "virtform-bench-virsh-"));
  const virsh = (uri: string, ...args: string[]) => {
    const r = spawnSync("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`virsh ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const hostOf = (i: number) => hosts.uris[i % 2]!;
  // Setup outside the timing, as virtform's pools exist before its instances are made.
  for (const uri of hosts.uris) {
    virsh(uri, "pool-define-as", "bench", "dir", "--target", `/var/tmp/virtform-bench-${uri === hosts.uris[0] ? "a" : "b"}`);
    virsh(uri, "pool-build", "bench");
    virsh(uri, "pool-start", "bench");
    virsh(uri, "vol-create-as", "bench", "image.qcow2", "1G", "--format", "qcow2");
  }
  let started = performance.now();
  for (let i = 0; i < count; i++) {
    const uri = hostOf(i);
    const image = virsh(uri, "vol-path", "image.qcow2", "--pool", "bench");
    virsh(uri, "vol-create-as", "bench", `root-${i}.qcow2`, "1G", "--format", "qcow2", "--backing-vol", image, "--backing-vol-format", "qcow2");
    virsh(uri, "vol-create-as", "bench", `data-${i}.qcow2`, "64M", "--format", "qcow2");
    const rootPath = virsh(uri, "vol-path", `root-${i}.qcow2`, "--pool", "bench");
    const dataPath = virsh(uri, "vol-path", `data-${i}.qcow2`, "--pool", "bench");
    const xml = join(work, `d${i}.xml`);
    writeFileSync(
      xml,
      `<domain type='qemu'><name>bench-${i}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><features><acpi/></features><os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${rootPath}'/><target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>`,
    );
    virsh(uri, "define", xml);
    virsh(uri, "start", `bench-${i}`);
    const disk = join(work, `v${i}.xml`);
    writeFileSync(disk, `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${dataPath}'/><target dev='vdb' bus='virtio'/></disk>`);
    virsh(uri, "attach-device", `bench-${i}`, disk, "--live", "--config");
  }
  const create = (performance.now() - started) / 1000;
  started = performance.now();
  for (let i = 0; i < count; i++) {
    const uri = hostOf(i);
    virsh(uri, "destroy", `bench-${i}`);
    virsh(uri, "undefine", `bench-${i}`);
    virsh(uri, "vol-delete", `root-${i}.qcow2`, "--pool", "bench");
    virsh(uri, "vol-delete", `data-${i}.qcow2`, "--pool", "bench");
  }
  const destroy = (performance.now() - started) / 1000;
  rmSync(work, { recursive: true, force: true });
  return { create, destroy };
}

const hosts = await startLibvirtHosts();
try {
  hosts.wipe();
  const f = (s: number) => `${s.toFixed(2)} s`;
  const rows: Row[] = [];
  if (!planOnly) {
    const dir = mkdtempSync(join(tmpdir(), "virtform-bench-libvirt-"));
    writeFileSync(join(dir, "virtform.bench.json"), JSON.stringify({ backend: "libvirt", clusters: { web: hosts.uris } }));
    writeFileSync(join(dir, "infra.ts"), program(n, "running", true));
    virtform(dir, "images", "lock"); // as a user's program is: no live package resolution per plan
    // Each host's boot image exists before the timing on both sides (the script makes its own).
    const vfCreate = virtform(dir, "apply", "--yes");
    const vfNoop = virtform(dir, "plan", "--detailed-exitcode");
    const vfDestroy = virtform(dir, "destroy", "--yes");
    hosts.wipe();
    const sh = script(hosts, n);
    hosts.wipe();
    rmSync(dir, { recursive: true, force: true });
    console.log(
      [
        `libvirt backend, ${n} instances on 2 hosts (local session + qemu+ssh), each started with a volume attached`,
        `                 virtform     virsh script   ratio (target <= 0.6)`,
        `create+start+attach  ${f(vfCreate).padEnd(12)} ${f(sh.create).padEnd(14)} ${(vfCreate / sh.create).toFixed(2)}`,
        `destroy              ${f(vfDestroy).padEnd(12)} ${f(sh.destroy).padEnd(14)} ${(vfDestroy / sh.destroy).toFixed(2)}`,
        `no-op plan, ${n} running domains: ${f(vfNoop)}`,
      ].join("\n"),
    );
    rows.push(
      { what: `create + start + attach, ${n} instances (peer: sequential virsh)`, unit: "s", ours: vfCreate, peer: sh.create, peerName: "virsh script", ratio: vfCreate / sh.create, ratioMeaning: "ours / peer", target: "<= 0.6", met: vfCreate / sh.create <= 0.6 },
      { what: `destroy, ${n} instances (peer: sequential virsh)`, unit: "s", ours: vfDestroy, peer: sh.destroy, peerName: "virsh script", ratio: vfDestroy / sh.destroy, ratioMeaning: "ours / peer", target: "<= 0.6", met: vfDestroy / sh.destroy <= 0.6 },
    );
  }

  // The no-op plan over many (stopped) domains: the refresh is one batch of virsh commands per host,
  // both hosts at once. Each run is a whole CLI process, as a user runs it (program load included).
  const planDir = mkdtempSync(join(tmpdir(), "virtform-bench-libvirt-plan-"));
  writeFileSync(join(planDir, "virtform.bench.json"), JSON.stringify({ backend: "libvirt", clusters: { web: hosts.uris } }));
  writeFileSync(join(planDir, "infra.ts"), program(planDomains, "stopped", false));
  virtform(planDir, "images", "lock");
  virtform(planDir, "apply", "--yes", "--parallelism", "20");
  const onBoth = hosts.uris.map((uri) => hosts.domains(uri).length);
  if (onBoth[0]! + onBoth[1]! !== planDomains) throw new Error(`expected ${planDomains} domains on the two hosts, found ${onBoth.join(" + ")}`);
  // With ssh connection sharing (the apply above left the master connection up, as a user's last
  // command would), and without it (ssh with no config: each run its own handshake); alternating,
  // so that the machine's load weighs on both alike.
  const shared: { wall: number; cpu: number }[] = [];
  const unshared: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < planRuns; i++) {
    shared.push(virtformWith({}, planDir, "plan", "--detailed-exitcode"));
    unshared.push(virtformWith({ VIRTFORM_TEST_SSH_CONFIG: "/dev/null" }, planDir, "plan", "--detailed-exitcode"));
  }
  virtform(planDir, "destroy", "--yes", "--parallelism", "20");

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wall = (runs: { wall: number }[]) => median(runs.map((r) => r.wall));
  const cpu = (runs: { cpu: number }[]) => median(runs.map((r) => r.cpu));
  const planLine = (what: string, runs: { wall: number; cpu: number }[]) =>
    `no-op plan with refresh, ${planDomains} domains on 2 hosts (${onBoth.join(" + ")}), ${what}: median ${f(wall(runs))} wall (target < 1 s: ${wall(runs) < 1 ? "met" : "not met"}; runs ${runs.map((r) => f(r.wall)).join(", ")}), median CPU ${f(cpu(runs))}`;
  console.log([planLine("ssh connection shared", shared), planLine("a new ssh connection per run", unshared), "(each plan is a whole CLI process, program load included; CPU: user + sys of the CLI and the children it waited for)", ""].join("\n"));
  rows.push(
    { what: `no-op plan with refresh, ${planDomains} domains on 2 hosts, ssh shared, median of ${planRuns}`, unit: "s", ours: wall(shared), target: "< 1 s", met: wall(shared) < 1 },
    { what: `no-op plan with refresh, ${planDomains} domains on 2 hosts, ssh per run, median of ${planRuns}`, unit: "s", ours: wall(unshared), target: "< 1 s", met: wall(unshared) < 1 },
    { what: `no-op plan with refresh, ${planDomains} domains on 2 hosts, ssh shared, CPU (user + sys), median of ${planRuns}`, unit: "s", ours: cpu(shared) },
  );
  emitResult(json, { benchmark: "libvirt", command: commandOf("bench/libvirt/bench.ts"), rows, notes: ["two users' session daemons on this machine, one over qemu+ssh through a local sshd", "each plan is a whole CLI process"] });
  rmSync(planDir, { recursive: true, force: true });
} finally {
  hosts.stop();
}
