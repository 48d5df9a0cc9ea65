// Which image variants of a program are not built (their layers are not all in the layer cache),
// for `plan` to show and `apply` to build (--build-images), refuse (--require-images) or warn about.
// Only variants this host can build count: a build installs from the host's apt sources, so the
// lock must have been resolved against the host's own apt lists (not Packages files, nor lists
// elsewhere through VIRTFORM_APT_LISTS, as tests and fixtures use).
import { builtVariants } from "../images/build/built-images.ts";
import { defaultCacheDir } from "../images/build/layer-cache.ts";
import { resolve } from "node:path";
import { SYSTEM_APT_LISTS } from "../images/package-catalog.ts";
import type { DesiredResource } from "../core/model.ts";
import { lockfilePathFor, readLockfile } from "../images/lockfile.ts";
import type { ImageInputs } from "../sdk/kinds/image.ts";
import { ImagesError } from "../images/images-error.ts";

export interface UnbuiltVariant {
  address: string;
  variant: string;
  digest: string;
  missingLayers: number;
}

export function unbuiltVariants(resources: readonly DesiredResource[], program: string, env: NodeJS.ProcessEnv = process.env): UnbuiltVariant[] {
  if (!buildableHere(program, env)) return [];
  const out: UnbuiltVariant[] = [];
  for (const r of resources) {
    if (r.kind !== "Image") continue;
    const inputs = r.inputs as unknown as ImageInputs;
    for (const [variant, b] of Object.entries(builtVariants(r.address.replace(/^image\./, ""), inputs, env))) {
      if (b.built) continue;
      out.push({ address: r.address, variant, digest: b.digest, missingLayers: b.missing.length });
    }
  }
  return out;
}

function buildableHere(program: string, env: NodeJS.ProcessEnv): boolean {
  const lists = env.VIRTFORM_APT_LISTS;
  if (lists && resolve(lists) !== SYSTEM_APT_LISTS) return false;
  try {
    return readLockfile(lockfilePathFor(program))?.catalog === "apt-lists";
  } catch (err) {
    if (!(err instanceof ImagesError)) throw err;
    return false; // a lock that cannot be read is reported where the lock is read
  }
}

const short = (digest: string) => digest.slice(0, 19);

/** The plan's note on unbuilt variants; empty when every locked variant is built. */
export function renderUnbuiltText(unbuilt: readonly UnbuiltVariant[], program: string, env: NodeJS.ProcessEnv = process.env, backend?: string): string {
  if (unbuilt.length === 0) return "";
  const lines = [`Image variants to build (not in the layer cache ${defaultCacheDir(env)}):`];
  for (const u of unbuilt) lines.push(`  ${u.address}:${u.variant}  image ${short(u.digest)}  ${u.missingLayers} layer${u.missingLayers === 1 ? "" : "s"} to build`);
  if (backend === "libvirt") lines.push("On libvirt, instances of a variant not built boot an empty placeholder disk (no OS).");
  lines.push(`Build them with 'virtform images build ${program}' (root, mmdebstrap), or apply with --build-images.`);
  return lines.join("\n") + "\n";
}
