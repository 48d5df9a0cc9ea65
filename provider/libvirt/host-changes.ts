// The libvirt backend's changes on the hosts: making and removing volumes, snapshots, domains and
// attachments once the backend (libvirt-backend.ts) has checked them and recorded the intent in
// the catalogue. What is made once per host and shared (a placeholder image, a volume's first file)
// is made once per process even when creates run at once.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BOOT_CMDLINE } from "../../images/build/boot-test.ts";
import type { Catalogue, CatalogueRecord } from "./catalogue.ts";
import { attachmentDiskXml, domainXml } from "./domain-xml.ts";
import { HOME_POOL, poolNameOf, type LibvirtHosts } from "./hosts.ts";
import { aliasOf, consoleVolume, domainName, fileNameOf, metadataOf, poolOf, seedVolume } from "./names.ts";
import { withSeedImage } from "./cloud-init-seed.ts";
import { escapeXml, isRunning, parseDisks } from "./parse.ts";
import { attachmentsOf, LibvirtBackendError } from "./rules.ts";
import type { VariantVolumes } from "./variant-volumes.ts";
import { hostLabel } from "./virsh.ts";

const GiB = 1024 ** 3;
/** The boot image of a variant that has no built layers (`virtform images build` makes them): an empty disk of this size. */
const PLACEHOLDER_IMAGE_GIB = 1;

export class HostChanges {
  private readonly catalogue: Catalogue;
  private readonly hosts: LibvirtHosts;
  private readonly variants: VariantVolumes;
  private readonly materializing = new Map<string, Promise<void>>();

  constructor(catalogue: Catalogue, hosts: LibvirtHosts, variants: VariantVolumes) {
    this.catalogue = catalogue;
    this.hosts = hosts;
    this.variants = variants;
  }


  async make(record: CatalogueRecord): Promise<void> {
    switch (record.kind) {
      case "Volume":
        if (record.host) await this.makeVolume(record);
        return;
      case "Snapshot":
        if (record.host) await this.makeSnapshot(record);
        return;
      case "Instance":
        await this.makeInstance(record);
        return;
      case "Attachment":
        await this.attach(record);
        return;
      default:
        return;
    }
  }

  private async makeVolume(volume: CatalogueRecord): Promise<void> {
    const uri = volume.host!;
    const pool = poolNameOf(String(volume.spec.pool));
    await this.hosts.ensurePool(uri, pool, String(volume.spec.pool));
    const c = this.hosts.connection(uri);
    const bytes = `${Math.round((volume.spec.sizeGiB as number) * GiB)}`;
    const source = volume.spec.source !== undefined ? this.catalogue.get(String(volume.spec.source)) : undefined;
    if (source?.host) {
      if (source.host !== uri) throw new Error(`bug in virtform: clone ${volume.name} and its source ${source.name} are on different hosts`);
      const backing = (await c.run("vol-path", fileNameOf(this.catalogue, source.id), "--pool", poolOf(this.catalogue, source.id))).trim();
      await c.run("vol-create-as", pool, fileNameOf(this.catalogue, volume.id), bytes, "--format", "qcow2", "--backing-vol", backing, "--backing-vol-format", source.format ?? "qcow2");
    } else {
      await c.run("vol-create-as", pool, fileNameOf(this.catalogue, volume.id), bytes, "--format", volume.format ?? "qcow2", "--allocation", "0");
    }
  }

  private async makeSnapshot(snapshot: CatalogueRecord): Promise<void> {
    const volume = this.catalogue.get(String(snapshot.spec.volume))!;
    const c = this.hosts.connection(snapshot.host!);
    const users = [];
    for (const a of attachmentsOf(this.catalogue, { volume: volume.id })) {
      const [state] = await c.batch([["domstate", domainName(String(a.spec.instance))]]);
      if (state!.ok && isRunning(state!.out)) users.push(a);
    }
    // The volume's bytes now, as a file of their own: a plain copy (qemu-img convert) when no domain
    // runs with it, else a push backup by the QEMU using it (a copy of one moment while it writes on).
    if (users.length === 0) {
      await c.run("vol-clone", fileNameOf(this.catalogue, volume.id), fileNameOf(this.catalogue, snapshot.id), "--pool", poolOf(this.catalogue, volume.id));
      return;
    }
    const domain = domainName(String(users[0]!.spec.instance));
    const volumePath = (await c.run("vol-path", fileNameOf(this.catalogue, volume.id), "--pool", poolOf(this.catalogue, volume.id))).trim();
    const target = `${volumePath.slice(0, volumePath.lastIndexOf("/"))}/${fileNameOf(this.catalogue, snapshot.id)}`;
    const disks = parseDisks(await c.run("dumpxml", domain));
    const backup = `<domainbackup mode='push'><disks>${disks
      .map((d) => (d.file === volumePath ? `<disk name='${d.dev}' type='file' backup='yes'><target file='${escapeXml(target)}'/><driver type='qcow2'/></disk>` : `<disk name='${d.dev}' backup='no'/>`))
      .join("")}</disks></domainbackup>`;
    const dir = mkdtempSync(join(tmpdir(), "virtform-libvirt-"));
    try {
      writeFileSync(join(dir, "backup.xml"), backup);
      await c.run("backup-begin", domain, join(dir, "backup.xml"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const deadline = Date.now() + 600_000; ; ) {
      if (/Job type:\s+None/.test(await c.run("domjobinfo", domain))) break;
      if (Date.now() > deadline) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(snapshot.host!)}: the backup of ${volume.name} for snapshot ${snapshot.name} did not finish in 10 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = await c.run("domjobinfo", domain, "--completed");
    if (!/Job type:\s+Completed/.test(done)) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(snapshot.host!)}: the backup of ${volume.name} for snapshot ${snapshot.name} failed: ${done.trim().split("\n")[0]}`);
    await c.run("pool-refresh", poolOf(this.catalogue, volume.id)); // the file QEMU wrote becomes a volume of the pool
  }

  /** Materializes a volume that had no host yet (its first attachment), with the snapshots and clones it depends on. */
  private async materialize(volume: CatalogueRecord): Promise<void> {
    const exists = (await this.hosts.connection(volume.host!).batch([["vol-info", fileNameOf(this.catalogue, volume.id), "--pool", poolOf(this.catalogue, volume.id)]]))[0]!;
    if (exists.ok) return;
    await this.makeVolume(volume);
  }

  private async makeInstance(instance: CatalogueRecord): Promise<void> {
    const uri = instance.host!;
    const c = this.hosts.connection(uri);
    await this.hosts.ensurePool(uri, HOME_POOL, "home");
    const s = instance.spec;
    // A built variant: an overlay on its top layer, booted from its own kernel, its console in a
    // file of the pool. Else the placeholder: an overlay on an empty disk (plan and apply said so).
    const variant = instance.imageDigest ? await this.variants.onHost(uri, instance.imageDigest) : undefined;
    try {
      const base = variant?.top ?? (await this.baseImage(uri, (s.image as { digest: string }).digest));
      const rootBytes = variant?.virtualBytes ?? PLACEHOLDER_IMAGE_GIB * GiB;
      await c.run("vol-create-as", HOME_POOL, `${instance.id}-root.qcow2`, `${rootBytes}`, "--format", "qcow2", "--backing-vol", base, "--backing-vol-format", "qcow2");
    } finally {
      variant?.unpin(); // the root disk stands on the layers now (or was not made): it holds them from here
    }
    const root = (await c.run("vol-path", `${instance.id}-root.qcow2`, "--pool", HOME_POOL)).trim();
    let local: string | undefined;
    if ((s.localDiskGiB as number) > 0) {
      await c.run("vol-create-as", HOME_POOL, `${instance.id}-local.qcow2`, `${Math.round((s.localDiskGiB as number) * GiB)}`, "--format", "qcow2", "--allocation", "0");
      local = (await c.run("vol-path", `${instance.id}-local.qcow2`, "--pool", HOME_POOL)).trim();
    }
    let serialLog: string | undefined;
    if (variant) {
      // A volume, so that deleting the instance deletes it like its disks.
      await c.run("vol-create-as", HOME_POOL, consoleVolume(instance.id), "0", "--format", "raw");
      serialLog = (await c.run("vol-path", consoleVolume(instance.id), "--pool", HOME_POOL)).trim();
    }
    const seed = typeof s.userData === "string" ? await this.uploadSeed(instance, s.userData) : undefined;
    const kernel = variant ? { kernel: variant.kernel, initrd: variant.initrd, cmdline: BOOT_CMDLINE } : undefined;
    await this.define(c, domainXml({ name: domainName(instance.id), vcpu: s.vcpu as number, memoryMiB: (s.memoryGiB as number) * 1024, root, local, kernel, console: serialLog, seed, metadata: metadataOf(instance) }));
    if (s.powerState === "running") await c.run("start", domainName(instance.id));
  }

  /** The instance's cloud-init seed, uploaded into its pool (through the connection: a qemu+ssh host too); its path there. */
  private async uploadSeed(instance: CatalogueRecord, userData: string): Promise<string> {
    const c = this.hosts.connection(instance.host!);
    const name = seedVolume(instance.id);
    await withSeedImage({ id: instance.id, name: instance.name, userData }, async (iso) => {
      await c.run("vol-create-as", HOME_POOL, name, `${statSync(iso).size}`, "--format", "raw");
      await c.run("vol-upload", name, iso, "--pool", HOME_POOL);
    });
    return (await c.run("vol-path", name, "--pool", HOME_POOL)).trim();
  }

  /** Whether another instance of this stack that stays boots the same variant on the same host (no need to read the host). */
  private otherBootsVariant(instance: CatalogueRecord): boolean {
    return this.catalogue.all("Instance").some((i) => i.id !== instance.id && i.intent !== "delete" && i.host === instance.host && i.imageDigest === instance.imageDigest);
  }

  private readonly placeholders = new Map<string, Promise<string>>();

  /**
   * The placeholder of a variant not built, on this host: made once and shared as every overlay's
   * backing file. Once per process: libvirt lists a volume being made before its file exists, so
   * instances created at once must wait for the one making it.
   */
  private baseImage(uri: string, digest: string): Promise<string> {
    const key = `${uri}\n${digest}`;
    let made = this.placeholders.get(key);
    if (!made) {
      made = this.makePlaceholder(uri, digest);
      made.catch(() => this.placeholders.delete(key));
      this.placeholders.set(key, made);
    }
    return made;
  }

  private async makePlaceholder(uri: string, digest: string): Promise<string> {
    const c = this.hosts.connection(uri);
    const name = `image-${createHash("sha256").update(digest).digest("hex").slice(0, 16)}.qcow2`;
    const [info] = await c.batch([["vol-path", name, "--pool", HOME_POOL]]);
    if (info!.ok) return info!.out.trim();
    // No built layers for this variant on this machine: a small empty disk stands in for its image.
    const made = await c.batch([["vol-create-as", HOME_POOL, name, `${PLACEHOLDER_IMAGE_GIB * GiB}`, "--format", "qcow2", "--allocation", "0"]]);
    if (!made[0]!.ok && !/exists/.test(made[0]!.error)) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: cannot make the image ${name}: ${made[0]!.error}`);
    return (await c.run("vol-path", name, "--pool", HOME_POOL)).trim();
  }

  async define(c: ReturnType<LibvirtHosts["connection"]>, xml: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "virtform-libvirt-"));
    try {
      writeFileSync(join(dir, "domain.xml"), xml);
      await c.run("define", join(dir, "domain.xml"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async attach(attachment: CatalogueRecord): Promise<void> {
    let volume = this.catalogue.get(String(attachment.spec.volume))!;
    const instance = this.catalogue.get(String(attachment.spec.instance))!;
    if (!volume.host) {
      // Recorded once its file exists: a refresh meanwhile must not look for it there. Two
      // attachments of one multi-attach volume made at once make its file once.
      let made = this.materializing.get(volume.id);
      if (!made) {
        const placed = { ...volume, host: instance.host! };
        made = this.materialize(placed).then(() => this.catalogue.put(placed));
        this.materializing.set(volume.id, made);
        made.catch(() => undefined).finally(() => this.materializing.delete(volume.id));
      }
      await made;
      volume = this.catalogue.get(volume.id)!;
    }
    const c = this.hosts.connection(instance.host!);
    const file = (await c.run("vol-path", fileNameOf(this.catalogue, volume.id), "--pool", poolOf(this.catalogue, volume.id))).trim();
    const xml = attachmentDiskXml({
      file,
      format: volume.format ?? "qcow2",
      dev: attachment.device!,
      alias: aliasOf(attachment.id),
      readonly: attachment.spec.mode === "read-only",
      // QEMU locks an image against other writers unless every user shares it, a reader too.
      shareable: volume.spec.multiAttach === true,
    });
    const running = isRunning(await c.run("domstate", domainName(instance.id)));
    const dir = mkdtempSync(join(tmpdir(), "virtform-libvirt-"));
    try {
      writeFileSync(join(dir, "disk.xml"), xml);
      await c.run("attach-device", domainName(instance.id), join(dir, "disk.xml"), "--config", ...(running ? ["--live"] : []));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async unmake(record: CatalogueRecord): Promise<void> {
    const tolerate = async (uri: string, ...args: string[]) => {
      const [r] = await this.hosts.connection(uri).batch([args]);
      if (!r!.ok && !/not found|failed to get|no storage|not running|no device found|is not active|not active/i.test(r!.error)) {
        throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: virsh ${args[0]} failed: ${r!.error}`);
      }
    };
    switch (record.kind) {
      case "Volume":
      case "Snapshot":
        if (record.host) await tolerate(record.host, "vol-delete", fileNameOf(this.catalogue, record.id), "--pool", poolOf(this.catalogue, record.id));
        return;
      case "Instance": {
        if (!record.host) return;
        await tolerate(record.host, "destroy", domainName(record.id));
        await tolerate(record.host, "undefine", domainName(record.id));
        await tolerate(record.host, "vol-delete", `${record.id}-root.qcow2`, "--pool", HOME_POOL);
        if ((record.spec.localDiskGiB as number) > 0) await tolerate(record.host, "vol-delete", `${record.id}-local.qcow2`, "--pool", HOME_POOL);
        if (record.imageDigest) await tolerate(record.host, "vol-delete", consoleVolume(record.id), "--pool", HOME_POOL);
        if (typeof record.spec.userData === "string") await tolerate(record.host, "vol-delete", seedVolume(record.id), "--pool", HOME_POOL);
        // The variant's layers go from the host with its last instance there (read from the host: other stacks count).
        // Best effort: the instance is gone either way, and a later delete's pass finds what is left.
        if (record.imageDigest && !this.otherBootsVariant(record)) await this.variants.removeUnused(record.host, record.imageDigest).catch(() => undefined);
        return;
      }
      case "StoragePool": {
        // Its dir pool on every host that may have made one (each is empty: its volumes are gone).
        const hosts = new Set(this.catalogue.all("Cluster").flatMap((c) => c.hosts ?? []));
        for (const uri of hosts) {
          await tolerate(uri, "pool-destroy", poolNameOf(record.id));
          await tolerate(uri, "pool-delete", poolNameOf(record.id));
          await tolerate(uri, "pool-undefine", poolNameOf(record.id));
        }
        return;
      }
      case "Attachment": {
        const instance = this.catalogue.get(String(record.spec.instance));
        if (!instance?.host) return;
        const c = this.hosts.connection(instance.host);
        const [state] = await c.batch([["domstate", domainName(instance.id)]]);
        if (!state!.ok) return; // the domain is gone, and its disks with it
        const running = isRunning(state!.out);
        await tolerate(instance.host, "detach-device-alias", domainName(instance.id), aliasOf(record.id), "--config", ...(running ? ["--live"] : []));
        // A live detach completes when QEMU reports the device gone: until then it holds the image's
        // lock, and an attachment elsewhere would fail.
        for (const deadline = Date.now() + 10_000; running; ) {
          const [xml] = await c.batch([["dumpxml", domainName(instance.id)]]);
          if (!xml!.ok || !xml!.out.includes(`'${aliasOf(record.id)}'`)) break;
          if (Date.now() > deadline) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(instance.host)}: the disk of ${record.name} is still in ${domainName(instance.id)} 10 s after its detach`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return;
      }
      default:
        return;
    }
  }
}
