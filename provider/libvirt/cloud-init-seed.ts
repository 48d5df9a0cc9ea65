// An instance's cloud-init user data on libvirt: a NoCloud seed, the small ISO 9660 image labelled
// `cidata` that cloud-init looks for at boot (its `meta-data` says the instance id and host name,
// its `user-data` is the instance's userData as given). Written with genisoimage on the machine
// running virtform, then uploaded into the instance's pool as a volume like its root disk, so a
// qemu+ssh host gets it through its connection; the domain sees it as a read-only CD-ROM.
// Only an instance with userData gets one (as a Terraform libvirt user adds a cloudinit disk).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool } from "../../images/build/tools.ts";
import { LibvirtBackendError } from "./rules.ts";

/** A host name from the instance's address: `instances.web/app[3]` -> `app-3`. */
export function hostnameOf(address: string): string {
  const member = address.slice(address.lastIndexOf("/") + 1);
  const name = member
    .toLowerCase()
    .replace(/\[(\d+)\]$/, "-$1")
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return (name || "instance").slice(0, 63).replace(/-+$/, "");
}

/** The seed's files: NoCloud's meta-data (YAML) and the user data, byte for byte. */
export function seedFiles(instance: { id: string; name: string; userData: string }): { "meta-data": string; "user-data": string } {
  // The id is a fresh one for a replaced instance, so cloud-init runs its first boot again there.
  return { "meta-data": `instance-id: ${instance.id}\nlocal-hostname: ${hostnameOf(instance.name)}\n`, "user-data": instance.userData };
}

/**
 * The seed image as a file for `use` (an upload), removed after: the user data may hold
 * credentials, so its files live in a private temporary directory only while needed.
 */
export async function withSeedImage<T>(instance: { id: string; name: string; userData: string }, use: (iso: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "virtform-seed-"));
  try {
    chmodSync(dir, 0o700);
    const files = seedFiles(instance);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
    const iso = join(dir, "seed.iso");
    try {
      await runTool("genisoimage", ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", join(dir, "user-data"), join(dir, "meta-data")]);
    } catch (err) {
      const missing = /ENOENT/.test((err as Error).message);
      throw new LibvirtBackendError(
        "invalid",
        missing
          ? `instance ${instance.name} has userData, written to libvirt as a cloud-init seed made with genisoimage, which is not installed on this machine (apt-get install genisoimage)`
          : `cannot write the cloud-init seed of instance ${instance.name}: ${(err as Error).message}`,
      );
    }
    return await use(iso);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
