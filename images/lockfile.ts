// virtform.lock: each image variant's requested spec and the exact package set it resolved to, with
// the content digest over that set and the config. Committed beside the program like
// package-lock.json, so plans are reproducible on machines without a package catalog. The config
// itself is kept as a digest only: it may hold secrets (a value wrapped with secret()), and a lock is
// meant to be committed. Since version 3 each set includes the base release's essential and required
// packages (marked `base`, the image's first layer). Versions 1 and 2 are still read; their entries
// are outdated (no base packages), so they are resolved again.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../durable/write-file-atomic.ts";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { hasContents, type ResolvedVariant } from "./variant.ts";
import type { VariantContents } from "./contents.ts";
import { packageReason } from "./package-reason.ts";
import { ImagesError } from "./images-error.ts";

export const LOCKFILE_NAME = "virtform.lock";
export const LOCKFILE_VERSION = 3;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const lockedPackage = z
  .object({
    name: z.string(),
    version: z.string(),
    architecture: z.string(),
    sha256: z.string().optional(),
    installedKiB: z.int().min(0),
    /** In the base release's set: the image's first layer. */
    base: z.literal(true).optional(),
    reason: packageReason,
  })
  .strict();

const requestedSpec = z
  .object({
    base: z.string(),
    packages: z.array(z.string()),
    /** sha256 over the sorted config (version 2). */
    configDigest: z.string().optional(),
    /** The config's values (version 1 only). */
    config: z.record(z.string(), scalar).optional(),
  })
  .strict()
  .refine((r) => r.configDigest !== undefined || r.config !== undefined, { message: "needs configDigest (or, in version 1, config)" });

const lockedVariant = z
  .object({
    requested: requestedSpec,
    digest: z.string(),
    installedKiB: z.int().min(0),
    packages: z.array(lockedPackage),
  })
  .strict();

/** Where the lock's packages came from: the system's apt lists, or Packages files relative to the lock. */
const catalogSource = z.union([z.literal("apt-lists"), z.array(z.string()).min(1)]);

const lockFile = z
  .object({
    lockfileVersion: z.union([z.literal(1), z.literal(2), z.literal(LOCKFILE_VERSION)]),
    catalog: catalogSource,
    images: z.record(z.string(), z.record(z.string(), lockedVariant)),
  })
  .strict();

export type LockedPackage = z.infer<typeof lockedPackage>;
export type LockedVariant = z.infer<typeof lockedVariant>;
export type CatalogSource = z.infer<typeof catalogSource>;
export type Lockfile = z.infer<typeof lockFile>;

/** The lock beside a program: `examples/app/infra.ts` -> `examples/app/virtform.lock`. */
export function lockfilePathFor(programPath: string): string {
  return join(dirname(resolve(programPath)), LOCKFILE_NAME);
}

/**
 * Reads a lock; undefined when there is none. A lock that cannot be read is an error, never silently
 * ignored: "lock-unreadable" (the file system refused), "lock-newer" (written by a newer virtform, in
 * a format this one does not know), "lock-invalid" (not JSON, or not a virtform lock: regenerated).
 */
export function readLockfile(path: string): Lockfile | undefined {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ImagesError("lock-unreadable", `${path} cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImagesError("lock-invalid", `${path} is not valid JSON (${(err as Error).message}); regenerate it with 'virtform images lock'`);
  }
  const version = (json as { lockfileVersion?: unknown } | null)?.lockfileVersion;
  if (typeof version === "number" && version > LOCKFILE_VERSION) {
    throw new ImagesError("lock-newer", `${path} is a lock of version ${version}, written by a newer virtform (this one reads versions 1 to ${LOCKFILE_VERSION}); upgrade virtform to use it`);
  }
  const parsed = lockFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ImagesError("lock-invalid", `${path} is not a virtform lock (${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"}); regenerate it with 'virtform images lock'`);
  }
  return parsed.data;
}

/**
 * Stable text: images and variants sorted, packages by name, one package per line, so a lock only
 * changes where its content does and a review reads it package by package.
 */
export function serializeLockfile(lock: Lockfile): string {
  const lines = ["{", `  "lockfileVersion": ${lock.lockfileVersion},`, `  "catalog": ${JSON.stringify(lock.catalog)},`, `  "images": {`];
  const addresses = Object.keys(lock.images).sort();
  addresses.forEach((address, ai) => {
    lines.push(`    ${JSON.stringify(address)}: {`);
    const variants = lock.images[address]!;
    const names = Object.keys(variants).sort();
    names.forEach((name, vi) => {
      const v = variants[name]!;
      const { base, packages, configDigest, config } = v.requested;
      const requested = configDigest !== undefined ? { base, packages, configDigest } : { base, packages, config: sortKeys(config) };
      lines.push(
        `      ${JSON.stringify(name)}: {`,
        `        "requested": ${JSON.stringify(requested)},`,
        `        "digest": ${JSON.stringify(v.digest)},`,
        `        "installedKiB": ${v.installedKiB},`,
        `        "packages": [`,
      );
      const pkgs = [...v.packages].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      pkgs.forEach((p, pi) => {
        const ordered = {
          name: p.name,
          version: p.version,
          architecture: p.architecture,
          ...(p.sha256 !== undefined ? { sha256: p.sha256 } : {}),
          installedKiB: p.installedKiB,
          ...(p.base ? { base: true } : {}),
          reason: p.reason,
        };
        lines.push(`          ${JSON.stringify(ordered)}${pi < pkgs.length - 1 ? "," : ""}`);
      });
      lines.push(`        ]`, `      }${vi < names.length - 1 ? "," : ""}`);
    });
    lines.push(`    }${ai < addresses.length - 1 ? "," : ""}`);
  });
  lines.push("  }", "}");
  return lines.join("\n") + "\n";
}

export function writeLockfile(path: string, lock: Lockfile): void {
  writeFileAtomic(path, serializeLockfile(lock)); // a crashed lock run never leaves half a file
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * What the lock keeps of a variant's config: a digest, never the values. It covers the variant's
 * files, units, users and cloud-init too (only when it declares some, so older digests stand).
 */
export function configDigest(config: Record<string, string | number | boolean>, contents?: VariantContents): string {
  const covered = contents === undefined ? sortedConfig(config) : { config: sortedConfig(config), contents };
  return `sha256:${createHash("sha256").update(JSON.stringify(covered)).digest("hex")}`;
}

/** The contents a digest covers: none when the variant declares none. */
const declared = (spec: ResolvedVariant) => (hasContents(spec) ? spec.contents : undefined);

function sortedConfig(config: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** sha256 over the base, the config and the exact package set (name, version, architecture, sha256). */
export function lockDigest(base: string, packages: readonly LockedPackage[], config: Record<string, string | number | boolean>, contents?: VariantContents): string {
  const set = [...packages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => [p.name, p.version, p.architecture, p.sha256 ?? ""]);
  const canonical = JSON.stringify({ base, config: sortedConfig(config), packages: set, ...(contents ? { contents } : {}) });
  return `sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}

/** Builds a locked variant from a resolved package set. */
export function makeLockedVariant(spec: ResolvedVariant, packages: LockedPackage[]): LockedVariant {
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    requested: { base: spec.base, packages: [...spec.packages], configDigest: configDigest(spec.config, declared(spec)) },
    digest: lockDigest(spec.base, sorted, spec.config, declared(spec)),
    installedKiB: sorted.reduce((sum, p) => sum + p.installedKiB, 0),
    packages: sorted,
  };
}

/**
 * How a lock entry relates to what the program asks for now: fresh; only the config changed (the
 * locked packages still answer the request, the digest must be recomputed); stale (base or
 * packages changed); or outdated (written by a lock version without the base's packages). Stale
 * and outdated entries must be resolved again.
 */
export type Freshness = "fresh" | "config-changed" | "stale" | "outdated";

/** The first lockfile version whose sets include the base release's packages. */
const BASE_LAYER_VERSION = 3;

export function freshness(entry: LockedVariant, spec: ResolvedVariant, lockfileVersion: number = LOCKFILE_VERSION): Freshness {
  if (lockfileVersion < BASE_LAYER_VERSION) return "outdated";
  const req = entry.requested;
  const samePackages = req.packages.length === spec.packages.length && req.packages.every((p, i) => p === spec.packages[i]);
  if (req.base !== spec.base || !samePackages) return "stale";
  const same =
    req.configDigest !== undefined
      ? req.configDigest === configDigest(spec.config, declared(spec))
      : JSON.stringify(sortedConfig(req.config ?? {})) === JSON.stringify(sortedConfig(spec.config));
  return same ? "fresh" : "config-changed";
}

/** The entry with the program's new config: same packages, new digest. */
export function withConfig(entry: LockedVariant, spec: ResolvedVariant): LockedVariant {
  return makeLockedVariant(spec, entry.packages);
}

/**
 * What an Image resource carries of its lock (its `locked` input, derived, never written by the
 * program): per variant the digest, package versions and installed sizes, keyed by package name so
 * the plan's per-field diff reads as a per-package diff.
 */
export const lockedInputsSchema = z
  .object({
    digest: z.string().describe("sha256 over the locked package set and the config"),
    base: z
      .record(z.string(), z.string())
      .optional()
      .describe("The base's essential and required packages (name -> exact version): the variant's first layer"),
    packages: z.record(z.string(), z.string()).describe("Package name -> exact version, besides the base's"),
    installedKiB: z.record(z.string(), z.int().min(0)).describe("Package name -> Installed-Size in KiB"),
  })
  .strict();

export type LockedInputs = z.infer<typeof lockedInputsSchema>;

export function lockedInputs(entry: LockedVariant): LockedInputs {
  const base = entry.packages.filter((p) => p.base);
  return {
    digest: entry.digest,
    ...(base.length > 0 ? { base: Object.fromEntries(base.map((p) => [p.name, p.version])) } : {}),
    packages: Object.fromEntries(entry.packages.filter((p) => !p.base).map((p) => [p.name, p.version])),
    installedKiB: Object.fromEntries(entry.packages.map((p) => [p.name, p.installedKiB])),
  };
}

/** One line of a package-level diff between two locked sets. */
export type PackageChange =
  | { op: "+"; name: string; version: string }
  | { op: "-"; name: string; version: string }
  | { op: "~"; name: string; before: string; after: string };

export function diffPackages(before: readonly LockedPackage[], after: readonly LockedPackage[]): PackageChange[] {
  const a = new Map(before.map((p) => [p.name, p.version]));
  const b = new Map(after.map((p) => [p.name, p.version]));
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: PackageChange[] = [];
  for (const name of names) {
    const va = a.get(name);
    const vb = b.get(name);
    if (va === undefined && vb !== undefined) out.push({ op: "+", name, version: vb });
    else if (vb === undefined && va !== undefined) out.push({ op: "-", name, version: va });
    else if (va !== vb) out.push({ op: "~", name, before: va!, after: vb! });
  }
  return out;
}

export function formatPackageChange(c: PackageChange): string {
  return c.op === "~" ? `~ ${c.name} ${c.before} -> ${c.after}` : `${c.op} ${c.name} ${c.version}`;
}
