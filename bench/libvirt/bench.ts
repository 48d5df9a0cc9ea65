// The libvirt backend against a plain sequential virsh script (issue 17, point 6).
//   node bench/libvirt/bench.ts [--n 20] [--plan-domains 60]
// On this machine's two test hosts (test/helpers/libvirt-hosts.ts: two users' session daemons, one
// over qemu+ssh; needs root). Both sides make the same thing: n domains spread over the two hosts,
// each booting a qcow2 overlay of one shared image, started, with a volume of its own attached; then
// remove it all. virtform: `virtform apply --yes` and `virtform destroy --yes` (parallel apply);
// the script: one `virsh` command after another, as a shell script would run them.
// Then a no-op `virtform plan` (with its refresh) over --plan-domains stopped domains on the 2 hosts.
// Targets: virtform at most 0.6x the script's wall time for create and for destroy; the no-op plan
// over 100 domains under 1 s.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLibvirtHosts, type LibvirtHosts } from "../../test/helpers/libvirt-hosts.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const argument = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
};
const n = Number(argument("n", "20"));
// 2 CPUs per host here, and at most 16 vCPUs per CPU: 64 one-vCPU domains fit on the two hosts.
const planDomains = Number(argument("plan-domains", "60"));
const env = { ...process.env, NO_COLOR: "1", VIRTFORM_APT_LISTS: join(root, "test", "fixtures", "apt-lists") };

function program(count: number, powerState: "running" | "stopped", volumes: boolean): string {
  return `import { stack } from "virtform";
export default stack("bench", (s) => {
  const pool = s.storagePool("local", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const img = s.image("tiny", { base: "debian-12", variants: { plain: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 }, overcommit: { cpu: 16, memory: 1 } });
  const app = web.instances("app", { count: ${count}, image: img.variant("plain"), vcpu: 1, memoryGiB: 0.0625, powerState: "${powerState}", placement: { maxPerHost: ${Math.ceil(count / 2)} } });
  ${volumes ? `for (let i = 0; i < ${count}; i++) pool.volume(\`data-\${i}\`, { sizeGiB: 0.0625 }).attachTo(app.members[i]!);` : ""}
  return {};
});
`;
}

function virtform(dir: string, ...args: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(root, "bin", "virtform.mjs"), ...args], { cwd: dir, env, encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0 && !(args.includes("--detailed-exitcode") && r.status === 2)) throw new Error(`virtform ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout.slice(-2000)}`);
  return seconds;
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
  const dir = mkdtempSync(join(tmpdir(), "virtform-bench-libvirt-"));
  writeFileSync(join(dir, "virtform.bench.json"), JSON.stringify({ backend: "libvirt", clusters: { web: hosts.uris } }));
  writeFileSync(join(dir, "infra.ts"), program(n, "running", true));
  // Each host's boot image exists before the timing on both sides (the script makes its own).
  const vfCreate = virtform(dir, "apply", "--yes");
  const vfNoop = virtform(dir, "plan", "--detailed-exitcode");
  const vfDestroy = virtform(dir, "destroy", "--yes");
  hosts.wipe();
  const sh = script(hosts, n);
  hosts.wipe();

  // The no-op plan over many (stopped) domains: the refresh is one batch of virsh commands per host.
  const planDir = mkdtempSync(join(tmpdir(), "virtform-bench-libvirt-plan-"));
  writeFileSync(join(planDir, "virtform.bench.json"), JSON.stringify({ backend: "libvirt", clusters: { web: hosts.uris } }));
  writeFileSync(join(planDir, "infra.ts"), program(planDomains, "stopped", false));
  virtform(planDir, "apply", "--yes", "--parallelism", "20");
  const plans = [0, 1, 2].map(() => virtform(planDir, "plan", "--detailed-exitcode"));
  virtform(planDir, "destroy", "--yes", "--parallelism", "20");

  const f = (s: number) => `${s.toFixed(2)} s`;
  process.stdout.write(
    [
      `libvirt backend, ${n} instances on 2 hosts (local session + qemu+ssh), each started with a volume attached`,
      `                 virtform     virsh script   ratio (target <= 0.6)`,
      `create+start+attach  ${f(vfCreate).padEnd(12)} ${f(sh.create).padEnd(14)} ${(vfCreate / sh.create).toFixed(2)}`,
      `destroy              ${f(vfDestroy).padEnd(12)} ${f(sh.destroy).padEnd(14)} ${(vfDestroy / sh.destroy).toFixed(2)}`,
      `no-op plan, ${n} running domains: ${f(vfNoop)}`,
      `no-op plan with refresh, ${planDomains} domains on 2 hosts (target < 1 s): ${plans.map(f).join(", ")} (whole CLI process, program load included)`,
      "",
    ].join("\n"),
  );
  rmSync(dir, { recursive: true, force: true });
  rmSync(planDir, { recursive: true, force: true });
} finally {
  hosts.stop();
}
