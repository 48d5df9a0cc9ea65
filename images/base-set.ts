// A base release's own packages: what Debian installs on every system (Essential: yes and
// Priority: required, as debootstrap's minbase does), with their dependencies. It is resolved once
// per catalog and is the first layer of every variant of an image on that base.
import { basename } from "node:path";
import { DISTRIBUTIONS, type BaseName } from "./distributions.ts";
import { resolve, type ResolveResult } from "./dependency-solver.ts";
import type { PackageCatalog } from "./package-catalog.ts";

/** Names of the catalog's essential and required packages (their candidates), sorted. */
export function basePackageNames(catalog: PackageCatalog): string[] {
  const names: string[] = [];
  for (const name of catalog.names()) {
    const candidate = catalog.candidate(name);
    if (candidate && (candidate.essential || candidate.priority === "required")) names.push(name);
  }
  return names.sort();
}

const resolved = new WeakMap<PackageCatalog, ResolveResult>();

/** The closure of the base's packages alone (memoized per catalog: every variant needs it). */
export function resolveBaseSet(catalog: PackageCatalog): ResolveResult {
  let result = resolved.get(catalog);
  if (result === undefined) {
    result = resolve(
      catalog,
      basePackageNames(catalog).map((name) => ({ name })),
    );
    resolved.set(catalog, result);
  }
  return result;
}

/**
 * Why the catalog cannot serve `base`, when its indexes are apt lists of another release
 * ("..._dists_trixie_main_binary-amd64_Packages"); undefined when it can, or when its files do not
 * say (Packages files named on the command line are taken at their word).
 */
export function releaseMismatch(catalog: PackageCatalog, base: string): string | undefined {
  const wanted = DISTRIBUTIONS[base as BaseName]?.codename;
  const releases = new Set<string>();
  for (const origin of catalog.origins) {
    const match = /_dists_([a-z]+)[-_]/.exec(basename(origin));
    if (match) releases.add(match[1]!);
  }
  const others = [...releases].filter((r) => r !== wanted).sort();
  if (wanted === undefined || others.length === 0) return undefined;
  return `the catalog holds ${others.join(", ")} lists, not ${base}'s (${wanted})`;
}
