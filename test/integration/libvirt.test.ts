// The libvirt backend end to end, through the CLI as a user runs it, on two real libvirt hosts
// (two users' session daemons, one over qemu+ssh; test/helpers/libvirt-hosts.ts): create across both
// hosts, a volume grown in place while attached (same file, same bytes), a snapshot taken while the
// domain runs and its clone, a cross-host attachment and the deletion of an attached volume refused
// at plan time, drift made with virsh shown by plan, a local disk's bytes gone after a stop (kept
// across a reset), and an apply killed with SIGKILL converging with no orphan domain or volume.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkdir, readJson, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { type LibvirtHosts, missingLibvirtTools, startLibvirtHosts } from "../helpers/libvirt-hosts.ts";
import { parseDisks } from "../../provider/libvirt/parse.ts";

const missing = missingLibvirtTools();
if (missing.length > 0 && process.env.CI) throw new Error(`the libvirt tests need ${missing.join(", ")}: see .ci/run`);

const MiB = 1024 * 1024;
/** The app instances' cloud-init user data: written to each as a NoCloud seed volume. */
const USER_DATA = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: \"made by virtform, token s3cret\"\n";

/** Two instances kept on different hosts, one volume attached to the first. */
function program(options: { volumeMiB: number; withVolume?: boolean; attachTo?: number; count?: number; shared?: boolean; snapshot?: boolean; power?: string }): string {
  const { volumeMiB, withVolume = true, attachTo = 0, count = 2, shared = false, snapshot = false, power = "running" } = options;
  return `import { stack } from "virtform";
export default stack("lab", (s) => {
  const pool = s.storagePool("local", { media: "ssd", devices: [{ sizeGiB: 10 }] });
  const img = s.image("tiny", { base: "debian-12", variants: { plain: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 } });
  const app = web.instances("app", { count: ${count}, image: img.variant("plain"), vcpu: 1, memoryGiB: 0.125, localDiskGiB: 0.0625, powerState: "${power}", placement: { antiAffinityGroup: "app" }, userData: ${JSON.stringify(USER_DATA)} });
  ${withVolume ? `const data = pool.volume("data", { sizeGiB: ${volumeMiB} / 1024 });
  data.attachTo(app.members[${attachTo}]);${snapshot ? `
  const copy = pool.volume("copy", { sizeGiB: ${volumeMiB} / 1024, source: data.snapshot("before") });
  copy.attachTo(app.members[0]);` : ""}${shared ? `
  const logs = pool.volume("logs", { sizeGiB: 0.0625, multiAttach: true });
  logs.attachTo(app);` : ""}
  return { data: data.id };` : "return {};"}
});
`;
}

const names = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);

interface State {
  resources: Record<string, { id: string; outputs: Record<string, unknown> }>;
}

describe.skipIf(missing.length > 0)("the libvirt backend on two hosts", () => {
  let hosts: LibvirtHosts;
  let dir: string;
  // The instances' user data is a secret: state keeps it encrypted with this passphrase.
  const SECRETS = { VIRTFORM_PASSPHRASE: "libvirt test passphrase" };
  const cli = (...args: string[]) => runCli(dir, args, SECRETS);
  const state = () => readJson<State>(join(dir, ".virtform", "state", "lab.json"));
  /** Where the volume's file is: the host and dir pool holding it. */
  const volumeFile = () => {
    const name = `${state().resources["volume.data"]!.id}.qcow2`;
    for (const uri of hosts.uris) {
      for (const pool of names(hosts.virsh(uri, "pool-list", "--name")).filter((p) => p.startsWith("vf-pool-"))) {
        if (hosts.virsh(uri, "vol-list", pool).includes(name)) return { uri, pool, name, path: hosts.volumePath(uri, pool, name) };
      }
    }
    throw new Error(`no host holds ${name}`);
  };

  beforeAll(async () => {
    hosts = await startLibvirtHosts();
    hosts.wipe();
    dir = makeWorkdir("virtform-libvirt-");
    if (process.env.VIRTFORM_KEEP_LIBVIRT_HOSTS) process.stderr.write(`workdir ${dir}\n`);
    // The program's cluster describes emulated hosts; this stack's config puts it on libvirt.
    writeFileSync(join(dir, "virtform.lab.json"), JSON.stringify({ backend: "libvirt", clusters: { web: hosts.uris } }));
  }, 60_000);

  afterAll(() => {
    if (!process.env.VIRTFORM_KEEP_LIBVIRT_HOSTS) hosts?.stop();
  });

  it("creates instances across both hosts and attaches a volume", async () => {
    writeProgram(dir, program({ volumeMiB: 64 }));
    const applied = await cli("apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    const domains = hosts.uris.map((uri) => hosts.domains(uri));
    expect(domains.map((d) => d.length)).toEqual([1, 1]); // anti-affinity: one per host
    const s = state();
    const first = s.resources["instances.web/app[0]"]!;
    const uri = hosts.uris.find((u) => hosts.domains(u).includes(`vf-${first.id}`))!;
    expect(hosts.virsh(uri, "domstate", `vf-${first.id}`).trim()).toBe("running");
    const xml = hosts.virsh(uri, "dumpxml", `vf-${first.id}`);
    expect(xml).toContain(`ua-${s.resources["attachment.data@web/app[0]"]!.id}`);
    expect(xml).toContain("<vf:object"); // identity in the domain's metadata
    expect(xml).not.toContain("s3cret"); // the user data is not in the metadata
    expect(readFileSync(join(dir, ".virtform", "libvirt", "catalogue.json"), "utf8")).not.toContain("s3cret"); // sealed there
    // Each instance's user data in a NoCloud seed in its pool, on both hosts (one reached over ssh):
    // read back from the volume's file, and seen by the domain as a CD-ROM.
    for (const i of [0, 1]) {
      const id = s.resources[`instances.web/app[${i}]`]!.id;
      const at = hosts.uris.find((u) => hosts.domains(u).includes(`vf-${id}`))!;
      const seed = hosts.volumePath(at, "vf-home", `${id}-seed.iso`);
      const file = (name: string) => spawnSync("isoinfo", ["-i", seed, "-R", "-x", `/${name}`], { encoding: "utf8" }).stdout;
      expect(file("user-data")).toBe(USER_DATA);
      expect(file("meta-data")).toBe(`instance-id: ${id}\nlocal-hostname: app-${i}\n`);
      expect(spawnSync("isoinfo", ["-d", "-i", seed], { encoding: "utf8" }).stdout).toMatch(/Volume id: cidata/);
      expect(hosts.virsh(at, "dumpxml", `vf-${id}`)).toMatch(new RegExp(`<disk type='file' device='cdrom'>[^]*?<source file='${seed}'[^]*?<readonly/>`));
    }
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0); // refresh reads back exactly what was applied
  }, 120_000);

  it("grows the attached volume in place: same file, same bytes", async () => {
    const before = volumeFile();
    const first = state().resources["instances.web/app[0]"]!;
    const alias = `ua-${state().resources["attachment.data@web/app[0]"]!.id}`;
    // Bytes written through the running domain's QEMU (there is no OS in these domains).
    hosts.guestWrite(before.uri, `vf-${first.id}`, alias, 1 * MiB, 64 * 1024, 0x5a);
    expect(hosts.volumeHolds(before.path, 1 * MiB, 64 * 1024, 0x5a)).toBe(true);
    const inode = statSync(before.path).ino;
    writeProgram(dir, program({ volumeMiB: 128 }));
    const applied = await cli("apply", "--yes");
    expect(applied.stdout).toMatch(/volume\.data: updated/);
    const after = volumeFile();
    expect(after.path).toBe(before.path);
    expect(statSync(after.path).ino).toBe(inode);
    expect(hosts.virsh(after.uri, "vol-info", after.name, "--pool", after.pool, "--bytes")).toMatch(new RegExp(`Capacity:\\s+${128 * MiB} bytes`));
    expect(hosts.volumeHolds(after.path, 1 * MiB, 64 * 1024, 0x5a)).toBe(true);
    expect(hosts.volumeHolds(after.path, 1 * MiB, 64 * 1024, 0x5b)).toBe(false);
  }, 60_000);

  it("snapshots the volume while its domain runs and clones the snapshot as a qcow2 overlay", async () => {
    writeProgram(dir, program({ volumeMiB: 128, snapshot: true }));
    const applied = await cli("apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    const data = volumeFile();
    const s = state();
    const copy = hosts.volumePath(data.uri, data.pool, `${s.resources["volume.copy"]!.id}.qcow2`);
    const snapshot = hosts.volumePath(data.uri, data.pool, `${s.resources["snapshot.before"]!.id}.qcow2`);
    expect(spawnSync("qemu-img", ["info", "-U", copy], { encoding: "utf8" }).stdout).toContain(`backing file: ${snapshot}`);
    expect(hosts.volumeHolds(copy, 1 * MiB, 64 * 1024, 0x5a)).toBe(true); // written before the snapshot
    // A later write to the volume is not in the snapshot, nor in its clone.
    hosts.guestWrite(data.uri, `vf-${s.resources["instances.web/app[0]"]!.id}`, `ua-${s.resources["attachment.data@web/app[0]"]!.id}`, 1 * MiB, 64 * 1024, 0x6b);
    expect(hosts.volumeHolds(data.path, 1 * MiB, 64 * 1024, 0x6b)).toBe(true);
    expect(hosts.volumeHolds(copy, 1 * MiB, 64 * 1024, 0x5a)).toBe(true);
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0);
  }, 60_000);

  it("refuses at plan time an attachment across hosts, naming both", async () => {
    // A multi-attach volume for both members, which run on two hosts: its dir pool serves one.
    writeProgram(dir, program({ volumeMiB: 128, shared: true }));
    const planned = await cli("plan");
    expect(planned.code).toBe(1);
    expect(planned.stderr).toMatch(/volume\.logs lives on host qemu\S* .*instances\.web\/app\[1\] runs on host qemu\S*/);
  }, 60_000);

  it("refuses to delete a volume that is still attached", async () => {
    // Forget the attachment (it stays in libvirt), then drop the volume from the program.
    expect((await cli("state", "rm", "attachment.data@web/app[0]")).code).toBe(0);
    writeProgram(dir, program({ volumeMiB: 128, withVolume: false }));
    const planned = await cli("plan");
    expect(planned.code).toBe(1);
    expect(planned.stderr).toMatch(/volume\.data is attached \(vdb of instances\.web\/app\[0\]\); detach it first/);
    expect(hosts.virsh(volumeFile().uri, "vol-list", volumeFile().pool)).toContain(volumeFile().name);
    // Taken back into state, so the rest of the suite runs with it.
    const id = Object.values(readJson<{ records: { kind: string; id: string }[] }>(join(dir, ".virtform", "libvirt", "catalogue.json")).records).find((r) => r.kind === "Attachment")!.id;
    writeProgram(dir, program({ volumeMiB: 128 }));
    expect((await cli("import", "attachment.data@web/app[0]", id)).code).toBe(0);
  }, 60_000);

  it("shows drift made with virsh: a domain destroyed, a volume resized", async () => {
    const s = state();
    const second = s.resources["instances.web/app[1]"]!;
    const uri = hosts.uris.find((u) => hosts.domains(u).includes(`vf-${second.id}`))!;
    hosts.destroyDomain(uri, `vf-${second.id}`);
    const planned = await cli("plan", "--detailed-exitcode");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toMatch(/instances\.web\/app\[1\][^\n]*\n(.*\n)*?.*powerState: "running" -> "stopped"|powerState[^\n]*running[^\n]*stopped/);
    const v = volumeFile();
    hosts.resizeVolume(v.uri, v.pool, v.name, 256 * MiB, `vf-${s.resources["instances.web/app[0]"]!.id}`);
    const shrink = await cli("plan");
    expect(shrink.stdout).toMatch(/sizeGiB: 0\.125 -> 0\.25|sizeGiB[^\n]*0\.125[^\n]*0\.25/);
    expect(shrink.stderr).toMatch(/cannot shrink from 0\.25 GiB to 0\.125 GiB/);
    // The program follows the volume's new size; the apply starts the destroyed domain again.
    writeProgram(dir, program({ volumeMiB: 256 }));
    const applied = await cli("apply", "--yes");
    expect(applied.code).toBe(0);
    expect(hosts.virsh(uri, "domstate", `vf-${second.id}`).trim()).toBe("running");
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0);
  }, 120_000);

  it("forgets an instance whose domain was undefined behind its back, with what it left on the host", async () => {
    const old = state().resources["instances.web/app[1]"]!;
    const uri = hosts.uris.find((u) => hosts.domains(u).includes(`vf-${old.id}`))!;
    hosts.virsh(uri, "destroy", `vf-${old.id}`);
    hosts.virsh(uri, "undefine", `vf-${old.id}`);
    const applied = await cli("apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    const made = state().resources["instances.web/app[1]"]!;
    expect(made.id).not.toBe(old.id);
    // The old record holds no room and blocks no delete; its root disk is gone from the host.
    const catalogue = readJson(join(dir, ".virtform", "libvirt", "catalogue.json")) as { records: { id: string }[] };
    expect(catalogue.records.map((r) => r.id)).not.toContain(old.id);
    expect(hosts.virsh(uri, "vol-list", "vf-home")).not.toContain(`${old.id}-root.qcow2`);
    expect(hosts.virsh(uri, "vol-list", "vf-home")).not.toContain(`${old.id}-seed.iso`);
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0);
  }, 120_000);

  it("a local disk keeps its bytes across a reset and loses them when the domain stops", async () => {
    const dom = `vf-${state().resources["instances.web/app[0]"]!.id}`;
    const uri = hosts.uris.find((u) => hosts.domains(u).includes(dom))!;
    const local = () => parseDisks(hosts.virsh(uri, "dumpxml", dom)).find((d) => d.dev === "hdb")!;
    hosts.guestWrite(uri, dom, local().alias!, 0, 64 * 1024, 0x3c);
    expect(hosts.volumeHolds(local().file!, 0, 64 * 1024, 0x3c)).toBe(true);
    hosts.virsh(uri, "reset", dom); // what a guest's reboot is to QEMU: the process, and the disk, stay
    expect(hosts.volumeHolds(local().file!, 0, 64 * 1024, 0x3c)).toBe(true);
    writeProgram(dir, program({ volumeMiB: 256, power: "stopped" }));
    expect((await cli("apply", "--yes")).code).toBe(0);
    expect(hosts.virsh(uri, "domstate", dom).trim()).toBe("shut off");
    writeProgram(dir, program({ volumeMiB: 256 }));
    expect((await cli("apply", "--yes")).code).toBe(0);
    expect(hosts.volumeHolds(local().file!, 0, 64 * 1024, 0x3c)).toBe(false);
    expect(hosts.volumeHolds(volumeFile().path, 1 * MiB, 64 * 1024, 0x6b)).toBe(true); // a volume keeps its bytes
  }, 60_000);

  it("converges after an apply killed with SIGKILL, leaving no orphan", async () => {
    // A new group of two on top: the apply is killed while they are being made.
    writeProgram(dir, program({ volumeMiB: 256 }).replace("return { data", `web.instances("more", { count: 2, image: img.variant("plain"), vcpu: 1, memoryGiB: 0.125 });\n  return { data`));
    const env = { ...process.env, ...SECRETS, NO_COLOR: "1", VIRTFORM_APT_LISTS: join(repoRoot, "test", "fixtures", "apt-lists") };
    // Killed just after its second state record (both creates pending, the first under way): a
    // point in the apply, not a moment in time, so a fast machine cannot finish first.
    const killAt = fileURLToPath(new URL("../helpers/kill-at-record.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", killAt, join(repoRoot, "bin", "virtform.mjs"), "apply", "--yes"], {
      cwd: dir,
      env: { ...env, VIRTFORM_KILL_AT: "after:2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const signal = await new Promise((resolve) => child.once("exit", (_code, sig) => resolve(sig)));
    expect(signal).toBe("SIGKILL");
    expect(out).not.toContain("Apply complete"); // cut short
    const again = await cli("apply", "--yes");
    expect(again.code, again.stderr).toBe(0);
    const s = state();
    const instances = Object.entries(s.resources).filter(([a]) => a.startsWith("instances."));
    expect(instances).toHaveLength(4);
    const domains = hosts.uris.flatMap((uri) => hosts.domains(uri)).sort();
    expect(domains).toEqual(instances.map(([, r]) => `vf-${r.id}`).sort()); // no orphan domain
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0);
  }, 120_000);

  it("destroys everything it made", async () => {
    // The attachment taken back by `import` above carries the program's dependencies: it goes before its volume.
    const destroyed = await cli("destroy", "--yes");
    expect(destroyed.code, destroyed.stderr).toBe(0);
    for (const uri of hosts.uris) {
      expect(hosts.domains(uri)).toEqual([]);
      for (const pool of names(hosts.virsh(uri, "pool-list", "--name"))) {
        // Only the shared boot images remain in the home pool; no volume, overlay, local disk or cloud-init seed.
        const volumes = hosts.virsh(uri, "vol-list", pool).split("\n").map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
        expect(volumes.filter((v) => !v!.startsWith("image-"))).toEqual([]);
      }
    }
  }, 120_000);
});
