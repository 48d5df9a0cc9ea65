// A built variant's kernel and initrd, copied out of its image once and kept beside its top layer in
// the layer cache (boot/vmlinuz, boot/initrd.img): a backend that boots the variant directly (libvirt)
// needs them as files of their own. Made in a temporary directory and renamed into place, so a
// killed extraction leaves nothing half-written under boot/.
import { existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { extractBootFiles } from "./boot-test.ts";
import { layerDir, layerImage } from "./layer-cache.ts";

export interface BootFiles {
  kernel: string;
  initrd: string;
}

const extracting = new Map<string, Promise<BootFiles>>();

/** The boot files of the image whose top layer is `digest` (built, in `cache`). */
export function bootFilesOf(cache: string, digest: string): Promise<BootFiles> {
  const dir = join(layerDir(cache, digest), "boot");
  const files = { kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") };
  if (existsSync(files.kernel) && existsSync(files.initrd)) return Promise.resolve(files);
  let pending = extracting.get(dir);
  if (!pending) {
    pending = (async () => {
      const staging = mkdtempSync(join(layerDir(cache, digest), ".boot-"));
      try {
        await extractBootFiles(layerImage(cache, digest), staging);
        rmSync(dir, { recursive: true, force: true });
        renameSync(staging, dir);
        return files;
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    })();
    extracting.set(dir, pending);
    pending.finally(() => extracting.delete(dir)).catch(() => undefined);
  }
  return pending;
}
