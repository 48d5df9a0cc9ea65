// A built variant on a libvirt host: its layers uploaded into the host's home pool once (named by
// content: `layer-<digest>.qcow2`) and shared by every instance booting it as backing files, and
// its kernel and initrd beside them for direct kernel boot. An upper layer's header names its
// parent's path in the layer cache; the copy uploaded names its parent's path in the pool instead.
// Upload is vol-create + vol-upload (it streams through the connection, so a qemu+ssh host works
// as a local one); a `<name>.ready` volume made after the upload says it is whole, so an upload
// killed half-way is made again, never booted from.
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootFilesOf } from "../../images/build/boot-files.ts";
import { cachedLayer, layerImage } from "../../images/build/layer-cache.ts";
import { runTool } from "../../images/build/tools.ts";
import { HOME_POOL, type LibvirtHosts } from "./hosts.ts";
import { LibvirtBackendError } from "./rules.ts";
import { hostLabel } from "./virsh.ts";

/** What a domain booting a built variant needs on its host: paths there. */
export interface VariantOnHost {
  /** The top layer: the instance's root disk is an overlay on it. */
  top: string;
  /** Size of the file system the layers hold (the root overlay's size). */
  virtualBytes: number;
  kernel: string;
  initrd: string;
}

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 16);

/** The volume names of a variant's files on a host (content-addressed, so every instance and stack shares them). */
export const layerVolume = (digest: string) => `layer-${short(digest)}.qcow2`;
export const kernelVolume = (digest: string) => `kernel-${short(digest)}`;
export const initrdVolume = (digest: string) => `initrd-${short(digest)}`;

/** The layers of the image whose top layer is `top`, bottom first (each layer's record names its parent). */
export function layerStack(cache: string, top: string): { digest: string; virtualBytes: number }[] {
  const stack: { digest: string; virtualBytes: number }[] = [];
  for (let digest: string | undefined = top; digest !== undefined; ) {
    const record = cachedLayer(cache, digest);
    if (!record) throw new LibvirtBackendError("invalid", `the image layer ${short(digest)} is not in the layer cache ${cache} any more; build the variant again ('virtform images build')`);
    stack.unshift({ digest, virtualBytes: record.virtualBytes });
    digest = record.parent;
  }
  return stack;
}

export class VariantVolumes {
  private readonly hosts: LibvirtHosts;
  private readonly cache: string;
  private readonly uploads = new Map<string, Promise<string>>();

  constructor(hosts: LibvirtHosts, cache: string) {
    this.hosts = hosts;
    this.cache = cache;
  }

  /** The variant whose top layer is `top` on host `uri`, uploaded unless it is there already. */
  async onHost(uri: string, top: string): Promise<VariantOnHost> {
    const stack = layerStack(this.cache, top);
    let parent: string | undefined;
    for (const layer of stack) parent = await this.uploadOnce(uri, layerVolume(layer.digest), layerImage(this.cache, layer.digest), parent);
    const boot = await bootFilesOf(this.cache, top);
    const [kernel, initrd] = await Promise.all([this.uploadOnce(uri, kernelVolume(top), boot.kernel), this.uploadOnce(uri, initrdVolume(top), boot.initrd)]);
    return { top: parent!, virtualBytes: stack.at(-1)!.virtualBytes, kernel, initrd };
  }

  /** One upload per host and name in this process; its path on the host. */
  private uploadOnce(uri: string, name: string, file: string, backing?: string): Promise<string> {
    const key = `${uri}\n${name}`;
    let pending = this.uploads.get(key);
    if (!pending) {
      pending = this.upload(uri, name, file, backing);
      pending.catch(() => this.uploads.delete(key));
      this.uploads.set(key, pending);
    }
    return pending;
  }

  private async upload(uri: string, name: string, file: string, backing: string | undefined): Promise<string> {
    const c = this.hosts.connection(uri);
    const [ready, path] = await c.batch([["vol-info", `${name}.ready`, "--pool", HOME_POOL], ["vol-path", name, "--pool", HOME_POOL]]);
    if (ready!.ok && path!.ok) return path!.out.trim();
    await c.batch([["vol-delete", name, "--pool", HOME_POOL]]); // what a killed upload left, if anything
    const work = mkdtempSync(join(tmpdir(), "virtform-upload-"));
    try {
      let source = file;
      if (backing !== undefined) {
        // Only the header changes (unsafe rebase: the parent's bytes are the same, only its path differs).
        source = join(work, name);
        copyFileSync(file, source);
        await runTool("qemu-img", ["rebase", "-u", "-f", "qcow2", "-b", backing, "-F", "qcow2", source]);
      }
      await c.run("vol-create-as", HOME_POOL, name, `${statSync(source).size}`, "--format", "raw");
      await c.run("vol-upload", name, source, "--pool", HOME_POOL);
      await c.run("vol-create-as", HOME_POOL, `${name}.ready`, "0", "--format", "raw");
      return (await c.run("vol-path", name, "--pool", HOME_POOL)).trim();
    } catch (err) {
      throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: cannot upload ${name} of the image: ${(err as Error).message}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
