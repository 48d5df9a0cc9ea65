// Real libvirt as a conformance target: two hosts on this machine (two users' session daemons, the
// second reached over qemu+ssh; test/helpers/libvirt-hosts.ts), started once for the whole file and
// wiped between worlds. The CLI selects the backend with VIRTFORM_BACKEND and finds the hosts in the
// cluster's `hosts.uris`; the suite's own reads go through a LibvirtBackend on the world's catalogue,
// made again after each CLI run (the catalogue is read when a backend is made).
// Bytes: a volume's or local disk's file read beside its QEMU (qemu-io -U); written through the
// running QEMU using it (HMP qemu-io, then a flush), or with qemu-io on the file when none does.
// Drift with virsh: destroy + undefine, vol-resize or blockresize, destroy / start / reset.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../../../provider/backend.ts";
import { domainName, LibvirtBackend } from "../../../provider/libvirt/libvirt-backend.ts";
import { isRunning, parseDisks, type DomainDisk } from "../../../provider/libvirt/parse.ts";
import { CONFORMANCE_USERS, startLibvirtHosts, type LibvirtHosts } from "../../helpers/libvirt-hosts.ts";
import type { ConformanceTarget, ConformanceWorld, Declarations, Disk } from "../target.ts";
import { emulatorDeclarations } from "./emulator-declarations.ts";

let started: Promise<LibvirtHosts> | undefined;

/** The two hosts, started on first use and kept for every world of the file. */
function hosts(): Promise<LibvirtHosts> {
  return (started ??= startLibvirtHosts(CONFORMANCE_USERS));
}

/** Stops the daemons and the sshd the target started (the test file's afterAll). */
export async function stopLibvirtTarget(): Promise<void> {
  if (started) (await started).stop();
  started = undefined;
}

/**
 * The cluster names the two hosts; it packs (a dir pool is a directory of one host, so a volume is
 * attached only on its own host: packing keeps the suite's instances, and their volumes, together;
 * anti-affinity still spreads). Revision 2 changes its CPU overcommit in place. The hosts have few
 * CPUs: vCPUs are overcommitted. Pool and image as the emulator's.
 */
function declarations(uris: readonly string[]): Declarations {
  return {
    cluster: (name, revision = 1) =>
      `s.cluster(${JSON.stringify(name)}, { hypervisor: "native", hosts: { count: ${uris.length}, vcpu: 2, memoryGiB: 8, localDiskGiB: 10, uris: ${JSON.stringify(uris)} }, placement: "pack", overcommit: { cpu: ${revision === 2 ? 16 : 8}, memory: 1 } })`,
    pool: emulatorDeclarations.pool,
    image: emulatorDeclarations.image,
  };
}

export const libvirtTarget: ConformanceTarget = {
  name: "libvirt",
  volumeBytesAfterAttach: true,
  async open(): Promise<ConformanceWorld> {
    const h = await hosts();
    h.wipe();
    const dir = mkdtempSync(join(tmpdir(), "virtform-conformance-"));
    const catalogueFile = join(dir, ".virtform", "libvirt", "catalogue.json");
    let opened: LibvirtBackend | undefined;
    const backend = () => (opened ??= new LibvirtBackend({ catalogueFile }));
    const close = async () => {
      opened?.close();
      opened = undefined;
    };

    /** The host of an instance's domain, or undefined when no host has it. */
    const hostOfDomain = (instanceId: string) => h.uris.find((uri) => h.domains(uri).includes(domainName(instanceId)));
    /** A volume's (or snapshot's) file: the host and path of the one pool volume named after it. */
    const volumeFile = (id: string) => {
      for (const uri of h.uris) {
        for (const pool of lines(h.virsh(uri, "pool-list", "--name"))) {
          for (const name of [`${id}.qcow2`, `${id}.img`]) {
            const r = spawnSync("virsh", ["-q", "-c", uri, "vol-path", name, "--pool", pool], { encoding: "utf8" });
            if (r.status === 0) return { uri, path: r.stdout.trim(), format: name.endsWith(".img") ? "raw" : "qcow2" };
          }
        }
      }
      // A libvirt volume takes its host at its first attachment: until then it has no file (its bytes are all zero).
      throw new Error(`volume ${id} has no file on any host`);
    };
    /** The disk of a running instance, as its live domain XML shows it. */
    const diskOf = (instanceId: string, disk: Disk): { uri: string; domain: string; disk: DomainDisk } => {
      const uri = hostOfDomain(instanceId);
      if (!uri) throw new Error(`instance ${instanceId} is terminated: no host has its domain`);
      const domain = domainName(instanceId);
      if (!isRunning(h.virsh(uri, "domstate", domain))) throw new Error(`instance ${instanceId} is stopped: its disks are not reachable`);
      const disks = parseDisks(h.virsh(uri, "dumpxml", domain));
      const found = disk === "local" ? disks.find((d) => d.dev === "hdb") : disks.find((d) => d.file === volumeFile(disk.volume).path);
      if (!found?.file || !found.alias) throw new Error(`instance ${instanceId} has no ${disk === "local" ? "local disk" : `attachment of ${disk.volume}`}`);
      return { uri, domain, disk: found };
    };
    /** Writes through the QEMU running the domain (HMP qemu-io), one run of equal bytes per command, then flushes. */
    const writeThroughQemu = (uri: string, domain: string, alias: string, offset: number, data: Buffer) => {
      // An attachment's (SCSI) and a local disk's (IDE) block backend hangs off the device itself.
      const device = alias;
      const hmp = (command: string) => {
        const said = h.virsh(uri, "qemu-monitor-command", domain, "--hmp", `qemu-io -d ${device} "${command}"`).trim();
        // qemu-io prints its own output to the domain's log; what comes back here is a refusal.
        if (said) throw new Error(`${domain} refused "${command}" on ${alias}: ${/read-only/i.test(said) ? "the disk is read-only" : said}`);
      };
      for (const run of runs(data)) hmp(`write -P ${run.byte} ${offset + run.start} ${run.length}`);
      hmp("flush");
    };
    /** Reads a qcow2 or raw file beside the QEMU that may hold it open. */
    const readFile = (path: string, format: string, offset: number, length: number): Buffer => {
      const r = spawnSync("qemu-io", ["-r", "-U", "-f", format, "-c", `read -v ${offset} ${length}`, path], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0 || !/read \d+\/\d+ bytes/.test(r.stdout)) throw new Error(`qemu-io cannot read ${path}: ${r.stderr || r.stdout}`);
      return hexDump(r.stdout, length);
    };
    /** The running domain (if any) that has a volume's file attached. */
    const userOf = (uri: string, path: string) => {
      for (const domain of lines(h.virsh(uri, "list", "--name"))) {
        const disk = parseDisks(h.virsh(uri, "dumpxml", domain)).find((d) => d.file === path && !d.readonly);
        if (disk?.alias) return { domain, alias: disk.alias };
      }
      return undefined;
    };

    return {
      dir,
      backend: lazyBackend(backend),
      declarations: declarations(h.uris),
      cliEnv: { VIRTFORM_BACKEND: "libvirt" },
      beforeCli: close,
      outOfBand: {
        async deleteInstance(id) {
          const uri = hostOfDomain(id);
          if (!uri) throw new Error(`no domain of instance ${id}`);
          spawnSync("virsh", ["-q", "-c", uri, "destroy", domainName(id)]);
          h.virsh(uri, "undefine", domainName(id));
        },
        async resizeVolume(id, sizeGiB) {
          const { uri, path } = volumeFile(id);
          const user = userOf(uri, path);
          const bytes = Math.round(sizeGiB * 1024 ** 3);
          if (user) h.virsh(uri, "blockresize", user.domain, path, `${bytes}B`);
          else h.virsh(uri, "vol-resize", path, `${bytes}`);
          await close(); // libvirt's answers are read again
        },
        async power(id, action) {
          const uri = hostOfDomain(id);
          if (!uri) throw new Error(`no domain of instance ${id}`);
          // A reboot is what a guest's reboot is to QEMU, a reset: these domains run no OS to ask.
          h.virsh(uri, { stop: "destroy", start: "start", reboot: "reset" }[action], domainName(id));
          await close();
        },
      },
      bytes: {
        async writeVolume(id, offset, data) {
          const { uri, path, format } = volumeFile(id);
          const user = userOf(uri, path);
          if (user) return writeThroughQemu(uri, user.domain, user.alias, offset, data);
          for (const run of runs(data)) {
            // Root writes the session user's file in place; its owner stays.
            const r = spawnSync("qemu-io", ["-f", format, "-c", `write -P ${run.byte} ${offset + run.start} ${run.length}`, path], { encoding: "utf8" });
            if (r.status !== 0 || /error|failed/i.test(r.stdout + r.stderr)) throw new Error(`qemu-io cannot write ${path}: ${r.stderr || r.stdout}`);
          }
        },
        readVolume: async (id, offset, length) => {
          const { path, format } = volumeFile(id);
          return readFile(path, format, offset, length);
        },
        volumeSize: async (id) => {
          const { path, format } = volumeFile(id);
          const r = spawnSync("qemu-img", ["info", "-U", "-f", format, "--output=json", path], { encoding: "utf8" });
          if (r.status !== 0) throw new Error(`qemu-img cannot read ${path}: ${r.stderr}`);
          return (JSON.parse(r.stdout) as { "virtual-size": number })["virtual-size"];
        },
        async writeDisk(instanceId, disk, offset, data) {
          const { uri, domain, disk: d } = diskOf(instanceId, disk);
          if (d.readonly) {
            // QEMU refuses it too ("Block node is read-only"): asked anyway, so the refusal is its own.
            writeThroughQemu(uri, domain, d.alias!, offset, data);
            throw new Error(`bug in the libvirt target: QEMU took a write on the read-only disk ${d.alias}`);
          }
          writeThroughQemu(uri, domain, d.alias!, offset, data);
        },
        readDisk: async (instanceId, disk, offset, length) => {
          const { disk: d } = diskOf(instanceId, disk);
          return readFile(d.file!, /\.img$/.test(d.file!) ? "raw" : "qcow2", offset, length);
        },
      },
      async restart() {
        await close();
        await h.restart();
      },
      async dispose() {
        await close();
        h.wipe();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The data as runs of one byte value (the suite writes filled buffers: one run each). */
function runs(data: Buffer): { start: number; length: number; byte: number }[] {
  const out: { start: number; length: number; byte: number }[] = [];
  for (let i = 0; i < data.length; ) {
    let j = i;
    while (j < data.length && data[j] === data[i]) j++;
    out.push({ start: i, length: j - i, byte: data[i]! });
    i = j;
  }
  return out;
}

/** The bytes of qemu-io's `read -v` dump ("offset:  hex bytes  ascii"). */
function hexDump(out: string, length: number): Buffer {
  const bytes = out
    .split("\n")
    .filter((l) => /^[0-9a-f]{8}:/.test(l))
    .flatMap((l) => l.slice(10, 10 + 16 * 3).trim().split(/\s+/))
    .map((x) => Number.parseInt(x, 16));
  return Buffer.from(bytes.slice(0, length));
}

/** A Backend whose every call goes to the one `current()` gives at that moment (made again after a CLI run). */
function lazyBackend(current: () => LibvirtBackend): Backend {
  return {
    create: (...a) => current().create(...a),
    get: (...a) => current().get(...a),
    update: (...a) => current().update(...a),
    delete: (...a) => current().delete(...a),
    getByToken: (...a) => current().getByToken(...a),
    setTags: (...a) => current().setTags(...a),
    list: (...a) => current().list(...a),
    capacity: () => current().capacity(),
    writtenBytes: (...a) => current().writtenBytes(...a),
    rehearsal: () => current().rehearsal(),
  };
}
