// Resolving image variants into lock entries against a package catalog, and choosing that catalog:
// Packages files the user names, or the system's apt lists.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve as resolvePath } from "node:path";
import { packageName, type ResolvedVariant } from "./variant.ts";
import { makeLockedVariant, type CatalogSource, type LockedPackage, type LockedVariant } from "./lockfile.ts";
import type { PackageReason } from "./package-reason.ts";
import { basePackageNames, releaseMismatch, resolveBaseSet } from "./base-set.ts";
import { resolve, type ResolvedPackage } from "./dependency-solver.ts";
import { aptListsDir, loadCatalog, systemPackageLists, type PackageCatalog } from "./package-catalog.ts";
import { ImagesError } from "./images-error.ts";

export type LockResult = { ok: true; variant: LockedVariant } | { ok: false; explanation: string };

/** "openjdk-17-jre-headless (>= 17.0.14)" -> { name, constraint: ">= 17.0.14" } */
export function packageRequest(spec: string): { name: string; constraint?: string } {
  const name = packageName(spec);
  const match = /\(([^)]*)\)/.exec(spec);
  return match ? { name, constraint: match[1]!.trim() } : { name };
}

/**
 * A variant's closure: the base release's essential and required packages installed first (as on
 * every system of that release), then the variant's packages. A package of the base's own closure,
 * at the same version, is marked `base` and keeps the reason it has in the base alone; a variant
 * that constrains a base package to another version moves it out of the base layer.
 */
export function resolveLockedVariant(catalog: PackageCatalog, spec: ResolvedVariant): LockResult {
  const mismatch = releaseMismatch(catalog, spec.base);
  if (mismatch) return { ok: false, explanation: mismatch };
  const base = resolveBaseSet(catalog);
  if (!base.ok) return { ok: false, explanation: `the essential and required packages of ${spec.base} cannot be installed together:\n${base.explanation}` };
  const requests = spec.packages.map(packageRequest);
  const requested = new Set(requests.map((r) => r.name));
  const baseRequests = basePackageNames(catalog)
    .filter((name) => !requested.has(name))
    .map((name) => ({ name }));
  const result = resolve(catalog, [...baseRequests, ...requests]);
  if (!result.ok) return { ok: false, explanation: result.explanation };
  const inBase = new Map(base.packages.map((p) => [p.name, p]));
  const packages: LockedPackage[] = result.packages.map((p) => {
    const b = inBase.get(p.name);
    const isBase = b !== undefined && b.version === p.version && b.architecture === p.architecture;
    return {
      name: p.name,
      version: p.version,
      architecture: p.architecture,
      ...(p.sha256 !== undefined ? { sha256: p.sha256 } : {}),
      installedKiB: p.installedSize,
      ...(isBase ? { base: true as const } : {}),
      reason: isBase ? baseReason(b, spec.base) : p.reason,
    };
  });
  return { ok: true, variant: makeLockedVariant(spec, packages) };
}

/** A base package's reason: one of the base's own packages, or a dependency of one. */
function baseReason(p: ResolvedPackage, base: string): PackageReason {
  return p.reason.kind === "dependency" ? p.reason : { kind: "base", base };
}

export interface LoadedCatalog {
  catalog: PackageCatalog;
  /** As recorded in a lock beside `lockDir`. */
  source: CatalogSource;
  /** For messages: "the system apt lists (3 files)" or the file names. */
  description: string;
}

/** The catalog named on the command line (`--packages`), else the system's apt lists; an Error says why none. */
export async function loadCatalogFor(packagesFiles: readonly string[] | undefined, lockDir: string): Promise<LoadedCatalog> {
  if (packagesFiles && packagesFiles.length > 0) {
    const paths = packagesFiles.map((f) => resolvePath(f));
    const missing = paths.filter((p) => !existsSync(p));
    if (missing.length > 0) throw new ImagesError("catalog-unavailable", `Packages file not found: ${missing.join(", ")}`);
    return {
      catalog: await loadCatalog(paths),
      source: paths.map((p) => relative(lockDir, p).split("\\").join("/")),
      description: packagesFiles.join(", "),
    };
  }
  const lists = systemPackageLists();
  if (lists.length === 0) {
    throw new ImagesError("catalog-unavailable", `no package catalog: the system has no apt lists in ${aptListsDir()} (run 'apt-get update') and no --packages FILE was given`);
  }
  return { catalog: await loadCatalog(lists), source: "apt-lists", description: describeAptLists(lists) };
}

/** Loads the catalog a lock names, when it is available here; undefined with a reason otherwise. */
export async function loadRecordedCatalog(
  source: CatalogSource,
  lockDir: string,
): Promise<{ loaded?: LoadedCatalog; unavailable?: string }> {
  if (source === "apt-lists") {
    const lists = systemPackageLists();
    if (lists.length === 0) return { unavailable: "the lock was made from the system apt lists and this machine has none" };
    return { loaded: { catalog: await loadCatalog(lists), source, description: describeAptLists(lists) } };
  }
  const paths = source.map((p) => (isAbsolute(p) ? p : resolvePath(lockDir, p)));
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) return { unavailable: `the lock's Packages files are missing: ${missing.join(", ")}` };
  return { loaded: { catalog: await loadCatalog(paths), source, description: source.join(", ") } };
}

function describeAptLists(lists: readonly string[]): string {
  return `the system apt lists (${lists.length} file${lists.length === 1 ? "" : "s"})`;
}

/** The `--packages` part of a hint to re-run `images lock` with the lock's own catalog. */
export function packagesHint(source: CatalogSource | undefined, lockPath: string): string {
  if (source === undefined || source === "apt-lists") return "";
  const lockDir = dirname(lockPath);
  return ` --packages ${source.map((p) => relative(process.cwd(), resolvePath(lockDir, p)) || p).join(" ")}`;
}
