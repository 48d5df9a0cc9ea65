// The XML virtform defines on libvirt: a domain for an instance (its boot overlay, its local disk,
// its metadata) and a disk for an attachment. Pure.
import { escapeXml } from "./parse.ts";

export const METADATA_NS = "https://virtform.dev/libvirt/1";

export interface DomainSpec {
  name: string;
  vcpu: number;
  memoryMiB: number;
  /** The boot disk: an overlay of the variant's image. */
  root: string;
  /** The local disk: transient, so its writes are gone when the domain stops (kept across a guest reboot). */
  local?: string | undefined;
  /** Direct kernel boot of a built variant. */
  kernel?: { kernel: string; initrd?: string | undefined; cmdline: string } | undefined;
  /** Where the serial console is written (the boot marker is read there). */
  console?: string | undefined;
  /** The cloud-init NoCloud seed (an ISO image), seen by the guest as a read-only CD-ROM. */
  seed?: string | undefined;
  metadata: unknown;
}

export function domainXml(d: DomainSpec): string {
  const boot = d.kernel
    ? `<kernel>${escapeXml(d.kernel.kernel)}</kernel>${d.kernel.initrd ? `<initrd>${escapeXml(d.kernel.initrd)}</initrd>` : ""}<cmdline>${escapeXml(d.kernel.cmdline)}</cmdline>`
    : "<boot dev='hd'/>";
  const local = d.local
    ? `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${escapeXml(d.local)}'/><target dev='hdb' bus='ide'/><transient/></disk>`
    : "";
  // On the second IDE bus (hdc): the local disk may take hdb.
  const seed = d.seed
    ? `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${escapeXml(d.seed)}'/><target dev='hdc' bus='ide'/><readonly/></disk>`
    : "";
  const serial = d.console
    ? `<serial type='file'><source path='${escapeXml(d.console)}'/><target port='0'/></serial><console type='file'><source path='${escapeXml(d.console)}'/><target type='serial' port='0'/></console>`
    : "";
  return [
    `<domain type='qemu'>`,
    `<name>${escapeXml(d.name)}</name>`,
    `<metadata><vf:object xmlns:vf='${METADATA_NS}'>${escapeXml(JSON.stringify(d.metadata))}</vf:object></metadata>`,
    `<memory unit='MiB'>${Math.max(16, Math.round(d.memoryMiB))}</memory>`,
    `<vcpu>${d.vcpu}</vcpu>`,
    // ACPI: PCI hot-plug (live attach) needs it.
    `<features><acpi/></features>`,
    `<os><type arch='x86_64' machine='pc'>hvm</type>${boot}</os>`,
    `<on_reboot>restart</on_reboot>`,
    `<devices>`,
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${escapeXml(d.root)}'/><target dev='vda' bus='virtio'/></disk>`,
    local,
    seed,
    serial,
    // Volumes are attached as SCSI disks: QEMU removes a SCSI disk at once on detach, where a virtio
    // PCI disk waits for the guest to let it go (forever, if it runs no OS), holding the image's lock.
    `<controller type='scsi' model='virtio-scsi'/>`,
    `<memballoon model='none'/>`,
    `</devices>`,
    `</domain>`,
  ].join("\n");
}

/** A volume as a disk: the alias names the attachment, so reading the domain back finds it. */
export function attachmentDiskXml(a: { file: string; format: "qcow2" | "raw"; dev: string; alias: string; readonly: boolean; shareable: boolean }): string {
  return [
    `<disk type='file' device='disk'>`,
    // A disk shared read-write by several domains must not be cached by any one of them.
    `<driver name='qemu' type='${a.format}'${a.shareable ? " cache='none'" : ""}/>`,
    `<source file='${escapeXml(a.file)}'/>`,
    `<target dev='${a.dev}' bus='scsi'/>`,
    a.readonly ? "<readonly/>" : "",
    a.shareable ? "<shareable/>" : "",
    `<alias name='${a.alias}'/>`,
    `</disk>`,
  ].join("");
}
