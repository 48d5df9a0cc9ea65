// An image's locked package sets for Terraform, from the virtform.lock the provider block names (or
// the one in Terraform's working directory): the image's lock_key is its entry's key, the address a
// native program gives it ("image.appserver"), so a configuration and a program of the same
// infrastructure share one lock made by `virtform images lock`. The provider resolves no packages:
// a variant the lock does not answer is an error naming the fix, as the CLI's is without a catalog.
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { isUnknown, UNKNOWN, type Value } from "../../core/model.ts";
import { own } from "../../core/own.ts";
import { containsUnknown } from "../../core/values.ts";
import { freshness, LOCKFILE_NAME, lockedInputs, readLockfile, withConfig, type LockedInputs, type Lockfile } from "../../images/lockfile.ts";
import { resolveVariant, type ImageRequest } from "../../images/variant.ts";
import { error, warning, type Diagnostic } from "./diagnostics.ts";
import { ImagesError } from "../../images/images-error.ts";

export interface ImageLock {
  path: string;
  lock: Lockfile;
}

/** The lock `setting` names (relative to `cwd`), else `cwd`'s virtform.lock when there is one; a bad lock throws. */
export function openImageLock(setting: string | undefined, cwd: string): ImageLock | undefined {
  const path = resolve(cwd, setting ?? LOCKFILE_NAME);
  if (!existsSync(path)) {
    if (setting === undefined) return undefined;
    throw new ImagesError("lock-unreadable", `there is no ${setting} (${path}); write it with 'virtform images lock'`);
  }
  return { path, lock: readLockfile(path)! };
}

export interface LockedImage {
  /** The image's `locked` input: per variant its locked set; UNKNOWN while the image's request is. */
  locked: Record<string, LockedInputs> | typeof UNKNOWN | undefined;
  diagnostics: Diagnostic[];
}

/** `inputs` (defaults filled) locked by the entry `key`; without a key the image stays unlocked, as before. */
export function lockImage(lock: ImageLock | undefined, key: Value | undefined, inputs: Record<string, Value>, cwd: string): LockedImage {
  if (key === undefined) return { locked: undefined, diagnostics: [] };
  if (isUnknown(key) || containsUnknown(inputs)) return { locked: UNKNOWN, diagnostics: [] };
  const at = [{ attribute_name: "lock_key" }];
  if (!lock) return { locked: undefined, diagnostics: [error("No lockfile", `lock_key is ${JSON.stringify(key)}, but there is no ${LOCKFILE_NAME} in Terraform's working directory and the provider block sets no lockfile`, at)] };
  // Named from the working directory when it is inside it, else by its whole path.
  const inside = relative(cwd, lock.path);
  const name = inside && !inside.startsWith("..") ? inside : lock.path;
  const entries = own(lock.lock.images, String(key));
  if (!entries) return { locked: undefined, diagnostics: [error("No such lock entry", `${name} has no image ${JSON.stringify(key)}; it has ${Object.keys(lock.lock.images).join(", ") || "none"}`, at)] };
  const locked: Record<string, LockedInputs> = {};
  const diagnostics: Diagnostic[] = [];
  const request = inputs as unknown as ImageRequest;
  for (const variant of Object.keys(request.variants)) {
    const spec = resolveVariant(request, variant);
    const entry = own(entries, variant);
    const state = entry ? freshness(entry, spec, lock.lock.lockfileVersion) : "missing";
    const where = [{ attribute_name: "variants" }, { element_key_string: variant }];
    if (entry && state === "fresh") locked[variant] = lockedInputs(entry);
    else if (entry && state === "config-changed") {
      locked[variant] = lockedInputs(withConfig(entry, spec));
      diagnostics.push(warning(`${name} is stale for ${key}:${variant}`, "its config or contents changed; the locked packages still apply and the digest covers the new declaration. Run 'virtform images lock' to record it", where));
    } else {
      const why = state === "missing" ? "it has no entry in the lock" : state === "outdated" ? "the lock's version predates the base's packages" : "its packages or base changed since it was locked";
      diagnostics.push(error(`${name} is stale for ${key}:${variant}`, `${why}; the provider resolves no packages. Run 'virtform images lock' on the program the lock was made from, or remove lock_key to plan the requested packages unlocked`, where));
    }
  }
  return { locked, diagnostics };
}
