// `virtform images ...`: resolve image variants against a package catalog, write virtform.lock,
// compare two variants or two locks package by package, and explain why a package is in an image.
import { existsSync, statSync } from "node:fs";
import { dirname, relative } from "node:path";
import { computeLayers, formatBytes, type ImageLayers } from "../../images/layers.ts";
import { loadCatalogFor, resolveLockedVariant, type LoadedCatalog } from "../../images/lock-builder.ts";
import { DiagnosticsError, type Diagnostic, type SourceLocation } from "../../core/model.ts";
import { type ImageInputs } from "../../sdk/kinds/image.ts";
import { resolveVariant } from "../../images/variant.ts";
import {
  LOCKFILE_VERSION,
  diffPackages,
  formatPackageChange,
  freshness,
  lockfilePathFor,
  readLockfile,
  withConfig,
  writeLockfile,
  type Lockfile,
  type LockedVariant,
} from "../../images/lockfile.ts";
import { why } from "../../images/package-reason.ts";
import { CliError } from "../cli-error.ts";
import { ImagesError } from "../../images/images-error.ts";
import { runProgram } from "../program-runner.ts";
import { pulumiProjectDir, readManifest } from "../pulumi/project.ts";
import { loadPulumi } from "../pulumi/load-lazily.ts";
import type { PulumiStack } from "../pulumi/desired.ts";
import type { EvaluatedStack } from "../../sdk/evaluate.ts";
import { whyDeferred } from "../pulumi/deferred.ts";

export interface CatalogOptions {
  packages?: string[];
}

export interface ProgramImage {
  address: string;
  inputs: ImageInputs;
  source?: SourceLocation;
}

/**
 * The program's images, evaluated without the lock (the lock is what these commands make or read).
 * `forLock`: a lock is made before anything is applied, from a Pulumi program's first pass; an image
 * known only after apply (computed from another resource's outputs, or waiting for one) cannot be
 * locked, and is refused by name rather than left out of the lock without a word. The other commands
 * take the images the first pass knows.
 */
export async function programImages(program: string, options: { forLock?: boolean } = {}): Promise<ProgramImage[]> {
  const pulumiDir = pulumiProjectDir(program, undefined);
  let evaluated: EvaluatedStack;
  if (pulumiDir) {
    const stack = await loadPulumi(pulumiDir, { locks: false });
    if (options.forLock) refuseDeferredImages(stack);
    evaluated = stack;
  } else {
    evaluated = await runProgram(program, { locks: false });
  }
  const images = evaluated.resources
    .filter((r) => r.kind === "Image")
    .map((r) => ({ address: r.address, inputs: r.inputs as unknown as ImageInputs, ...(r.source ? { source: r.source } : {}) }));
  if (images.length === 0) throw new CliError(`program ${program} declares no images`);
  return images;
}

function refuseDeferredImages(stack: PulumiStack): void {
  const images = stack.deferred.filter((d) => d.kind === "Image");
  if (images.length === 0) return;
  const reasons = images.map((d) => `  ${d.address}${d.source ? ` (${d.source.file}:${d.source.line})` : ""}: ${whyDeferred(d)}`);
  throw new CliError(
    `cannot lock ${images.length === 1 ? "an image" : "images"} known only after apply:\n${reasons.join("\n")}\n` +
      "A lock is made before anything is applied: compute an image's inputs from constants or the stack's config, and do not make it wait (dependsOn) for resources known only after apply.",
  );
}

/** virtform.lock beside the program; for a Pulumi project (a directory), beside its program file. */
function lockfileOf(program: string): string {
  const pulumiDir = pulumiProjectDir(program, undefined);
  return lockfilePathFor(pulumiDir ? readManifest(pulumiDir).main : program);
}

function catalogFor(program: string, options: CatalogOptions): Promise<LoadedCatalog> {
  return loadCatalogFor(options.packages, dirname(lockfileOf(program)));
}

/** Resolves variants, collecting every failure (at the image's line) rather than stopping at the first. */
class Resolutions {
  private readonly catalog: LoadedCatalog;
  readonly failures: Diagnostic[] = [];

  constructor(catalog: LoadedCatalog) {
    this.catalog = catalog;
  }

  resolve(image: ProgramImage, variant: string): LockedVariant | undefined {
    const result = resolveLockedVariant(this.catalog.catalog, resolveVariant(image.inputs, variant));
    if (result.ok) return result.variant;
    this.failures.push({
      severity: "error",
      address: image.address,
      path: `variants.${variant}`,
      ...(image.source ? { source: image.source } : {}),
      message: `cannot resolve ${image.address}:${variant} against ${this.catalog.description}:\n${result.explanation}`,
    });
    return undefined;
  }

  /** Throws when any variant failed: every one is reported. */
  check(): void {
    const n = this.failures.length;
    if (n > 0) throw new DiagnosticsError(this.failures, `${n} image variant${n === 1 ? "" : "s"} cannot be resolved`);
  }
}

function resolveOrFail(catalog: LoadedCatalog, image: ProgramImage, variant: string): LockedVariant {
  const resolutions = new Resolutions(catalog);
  const entry = resolutions.resolve(image, variant);
  resolutions.check();
  return entry!;
}

/** "heavy", "appserver:heavy" or "image.appserver:heavy" -> matching (image, variant) pairs. */
export function selectVariants(images: ProgramImage[], selector: string | undefined): { image: ProgramImage; variant: string }[] {
  const all = images.flatMap((image) => Object.keys(image.inputs.variants).map((variant) => ({ image, variant })));
  if (selector === undefined) return all;
  const [imagePart, variantPart] = selector.includes(":") ? selector.split(":", 2) : [undefined, selector];
  const imageAddress = imagePart === undefined ? undefined : imagePart.startsWith("image.") ? imagePart : `image.${imagePart}`;
  const picked = all.filter((x) => x.variant === variantPart && (imageAddress === undefined || x.image.address === imageAddress));
  if (picked.length === 0) {
    throw new CliError(`no variant ${selector} in the program (it has: ${all.map((x) => `${x.image.address}:${x.variant}`).join(", ")})`);
  }
  return picked;
}

function layersOf(variants: Record<string, LockedVariant>): ImageLayers {
  return computeLayers(
    Object.fromEntries(
      Object.entries(variants).map(([name, v]) => [name, v.packages.map((p) => ({ name: p.name, version: p.version, installedKiB: p.installedKiB, base: p.base === true }))]),
    ),
  );
}

export const short = (digest: string) => digest.slice(0, "sha256:".length + 12);

// ---------------------------------------------------------------------------------------------
// images resolve

export async function imagesResolveCommand(program: string, options: CatalogOptions & { variant?: string; json?: boolean }): Promise<number> {
  const images = await programImages(program);
  const selected = selectVariants(images, options.variant);
  const catalog = await catalogFor(program, options);
  const report: Record<string, unknown> = {};
  const text: string[] = [];
  // Layers depend on every variant of an image, so all are resolved even when one is shown.
  const resolutions = new Resolutions(catalog);
  const all = images.map((image) => {
    const resolved: Record<string, LockedVariant> = {};
    for (const variant of Object.keys(image.inputs.variants)) {
      const entry = resolutions.resolve(image, variant);
      if (entry) resolved[variant] = entry;
    }
    return { image, resolved };
  });
  resolutions.check();
  for (const { image, resolved } of all) {
    const layers = layersOf(resolved);
    const shown = selected.filter((s) => s.image === image).map((s) => s.variant);
    if (shown.length === 0) continue;
    report[image.address] = {
      base: image.inputs.base,
      variants: Object.fromEntries(
        shown.map((v) => {
          const l = layers.variants[v]!;
          return [v, { ...resolved[v]!, sizeBytes: l.sizeBytes, layers: l.layers, ...(l.base ? { baseLayer: l.base } : {}) }];
        }),
      ),
      layers: layers.layers,
      sharedBytes: layers.sharedBytes,
      storedBytes: layers.storedBytes,
      totalBytes: layers.totalBytes,
    };
    text.push(`${image.address} (${image.inputs.base})`);
    const width = Math.max(...shown.map((v) => v.length));
    for (const v of shown) {
      const r = resolved[v]!;
      const l = layers.variants[v]!;
      text.push(`  ${v.padEnd(width)}  ${r.packages.length} packages  ${formatBytes(l.sizeBytes)}  ${r.digest}`);
      const parts = l.layers.map((d) => {
        const layer = layers.layers[d]!;
        return `${d === l.base ? "base " : ""}${short(d)} (${layer.packages.length} packages, ${formatBytes(layer.sizeBytes)})`;
      });
      text.push(`  ${" ".repeat(width)}  layers: ${parts.join(" + ")}`);
      if (options.variant !== undefined) {
        for (const p of r.packages) text.push(`      ${p.name} ${p.version} ${p.architecture} ${formatBytes(p.installedKiB * 1024)}`);
      }
    }
    text.push(
      `  shared between variants: ${formatBytes(layers.sharedBytes)}; stored once: ${formatBytes(layers.storedBytes)} of ${formatBytes(layers.totalBytes)}`,
      "",
    );
  }
  if (options.json) {
    process.stdout.write(JSON.stringify({ formatVersion: 1, catalog: catalog.description, images: report }, null, 2) + "\n");
  } else {
    process.stdout.write(`Resolved against ${catalog.description}\n\n${text.join("\n")}`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// images lock

/**
 * The lock images lock starts from. A malformed one is what every other command tells the user to
 * regenerate with images lock: it is replaced (every variant resolved again), with a warning.
 */
function previousLock(path: string): Lockfile | undefined {
  try {
    return readLockfile(path);
  } catch (err) {
    // Only a lock that is not one (not JSON, not a virtform lock) is replaced: one this virtform
    // cannot read, or that a newer one wrote, is refused, as every other command refuses it.
    if (!(err instanceof ImagesError) || err.code !== "lock-invalid") throw err;
    process.stderr.write(`Warning: ${err.message.replace(/; regenerate it with 'virtform images lock'$/, "")}: writing a new lock, every variant resolved again.\n`);
    return undefined;
  }
}

export async function imagesLockCommand(program: string, options: CatalogOptions & { update?: boolean }): Promise<number> {
  const images = await programImages(program, { forLock: true });
  const lockPath = lockfileOf(program);
  const previous = previousLock(lockPath);
  const catalog = await catalogFor(program, options);
  // Entries made from another catalog are not kept: the lock records one catalog.
  const sameCatalog = previous !== undefined && JSON.stringify(previous.catalog) === JSON.stringify(catalog.source);
  const next: Lockfile = { lockfileVersion: LOCKFILE_VERSION, catalog: catalog.source, images: {} };
  const lines: string[] = [];
  let changed = 0;
  const resolutions = new Resolutions(catalog);
  for (const image of images) {
    const entries: Record<string, LockedVariant> = {};
    for (const variant of Object.keys(image.inputs.variants).sort()) {
      const spec = resolveVariant(image.inputs, variant);
      const old = previous?.images[image.address]?.[variant];
      const state = old ? freshness(old, spec, previous!.lockfileVersion) : "stale";
      let entry: LockedVariant | undefined;
      if (old && sameCatalog && !options.update && (state === "fresh" || state === "config-changed")) {
        // As npm and terraform do: a lock that still answers the request is kept, not upgraded.
        entry = state === "fresh" ? old : withConfig(old, spec);
      } else {
        entry = resolutions.resolve(image, variant);
        if (!entry) continue;
      }
      entries[variant] = entry;
      const name = `${image.address}:${variant}`;
      if (old && old.digest === entry.digest) {
        lines.push(`  ${name}: unchanged (${entry.packages.length} packages, ${short(entry.digest)})`);
        continue;
      }
      changed++;
      lines.push(`  ${name}: ${old ? "updated" : "locked"} ${entry.packages.length} packages, ${formatBytes(entry.installedKiB * 1024)}, ${entry.digest}`);
      if (old) for (const c of diffPackages(old.packages, entry.packages)) lines.push(`      ${formatPackageChange(c)}`);
    }
    next.images[image.address] = entries;
  }
  // Nothing is written unless every variant resolved: the lock stays whole.
  resolutions.check();
  const removed = previous
    ? Object.entries(previous.images).flatMap(([a, vs]) => Object.keys(vs).filter((v) => !next.images[a]?.[v]).map((v) => `${a}:${v}`))
    : [];
  for (const r of removed) lines.push(`  ${r}: removed (no longer in the program)`);
  writeLockfile(lockPath, next);
  const where = relative(process.cwd(), lockPath) || lockPath;
  process.stdout.write(
    `Resolved against ${catalog.description}\n${lines.join("\n")}\n\nWrote ${where}: ${changed + removed.length === 0 ? "no changes" : `${changed} variant${changed === 1 ? "" : "s"} changed${removed.length ? `, ${removed.length} removed` : ""}`}.\n`,
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Locked sets for why and diff: the lock when it answers the program, else a live resolution.

class VariantSets {
  private readonly program: string;
  private readonly options: CatalogOptions;
  private catalog: Promise<LoadedCatalog> | undefined;
  private lock: Lockfile | undefined;
  readonly notes: string[] = [];

  constructor(program: string, options: CatalogOptions) {
    this.program = program;
    this.options = options;
    // An explicit catalog means "resolve now"; otherwise the lock is the record.
    if (!options.packages?.length) this.lock = readLockfile(lockfileOf(program));
  }

  async get(image: ProgramImage, variant: string): Promise<LockedVariant> {
    const spec = resolveVariant(image.inputs, variant);
    const entry = this.lock?.images[image.address]?.[variant];
    if (entry) {
      const state = freshness(entry, spec, this.lock!.lockfileVersion);
      if (state === "fresh") return entry;
      if (state === "config-changed") return withConfig(entry, spec);
    }
    this.catalog ??= catalogFor(this.program, this.options);
    const catalog = await this.catalog.catch((err: unknown) => {
      throw new CliError(
        `${image.address}:${variant} is not locked (or its lock is stale) and ${(err as Error).message}; run 'virtform images lock' where a catalog is available`,
      );
    });
    if (!this.options.packages?.length) this.notes.push(`${image.address}:${variant} resolved live against ${catalog.description} (its lock entry is missing or stale)`);
    return resolveOrFail(catalog, image, variant);
  }
}

// ---------------------------------------------------------------------------------------------
// images why

export async function imagesWhyCommand(pkg: string, program: string, options: CatalogOptions & { variant?: string; json?: boolean }): Promise<number> {
  const images = await programImages(program);
  const sets = new VariantSets(program, options);
  const found: { variant: string; chain: string[] }[] = [];
  const missing: string[] = [];
  for (const { image, variant } of selectVariants(images, options.variant)) {
    const set = await sets.get(image, variant);
    const chain = why(set.packages, pkg);
    if (chain) found.push({ variant: `${image.address}:${variant}`, chain });
    else missing.push(`${image.address}:${variant}`);
  }
  for (const note of sets.notes) process.stderr.write(`Note: ${note}\n`);
  if (options.json) {
    process.stdout.write(JSON.stringify({ package: pkg, variants: Object.fromEntries(found.map((f) => [f.variant, f.chain])), absentFrom: missing }, null, 2) + "\n");
  } else {
    for (const f of found) {
      process.stdout.write(`${f.variant}:\n`);
      f.chain.forEach((step, i) => process.stdout.write(`  ${i === 0 ? "" : "-> "}${step}\n`));
    }
    if (missing.length > 0 && found.length > 0) process.stdout.write(`not in ${missing.join(", ")}\n`);
  }
  if (found.length === 0) {
    process.stderr.write(`Error: ${pkg} is in none of ${missing.join(", ")}\n`);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// images diff

interface Side {
  label: string;
  /** "image.appserver:light" -> locked set. */
  sets: Map<string, LockedVariant>;
}

export async function imagesDiffCommand(a: string, b: string, options: CatalogOptions & { program?: string; json?: boolean }): Promise<number> {
  const program = options.program ?? "infra.ts";
  let programImagesCache: Promise<ProgramImage[]> | undefined;
  const sets = new VariantSets(program, options);
  const side = async (arg: string): Promise<Side> => {
    if (existsSync(arg) && statSync(arg).isFile()) {
      const lock = readLockfile(arg);
      if (!lock) throw new CliError(`${arg} is not a lock file`);
      const map = new Map<string, LockedVariant>();
      for (const [address, variants] of Object.entries(lock.images)) {
        for (const [variant, entry] of Object.entries(variants)) map.set(`${address}:${variant}`, entry);
      }
      return { label: arg, sets: map };
    }
    // A variant as --variant takes it: "light", "appserver:light" or "image.appserver:light".
    programImagesCache ??= programImages(program);
    const images = await programImagesCache;
    const all = images.flatMap((image) => Object.keys(image.inputs.variants).map((variant) => `${image.address}:${variant}`));
    const picked = (() => {
      try {
        return selectVariants(images, arg);
      } catch {
        throw new CliError(`${arg} is neither a lock file nor a variant of ${program} (its variants: ${all.join(", ")})`);
      }
    })();
    if (picked.length > 1) {
      throw new CliError(`${arg} names more than one variant (${picked.map((p) => `${p.image.address}:${p.variant}`).join(", ")}); name the image too, like ${picked[0]!.image.address}:${arg}`);
    }
    const { image, variant } = picked[0]!;
    return { label: `${image.address}:${variant}`, sets: new Map([["", await sets.get(image, variant)]]) };
  };
  const left = await side(a);
  const right = await side(b);
  for (const note of sets.notes) process.stderr.write(`Note: ${note}\n`);
  // Two variants compare with each other; two locks compare variant by variant.
  const keys = left.sets.has("") || right.sets.has("") ? [""] : [...new Set([...left.sets.keys(), ...right.sets.keys()])].sort();
  const out: Record<string, unknown>[] = [];
  const text: string[] = [];
  for (const key of keys) {
    const before = key === "" ? [...left.sets.values()][0] : left.sets.get(key);
    const after = key === "" ? [...right.sets.values()][0] : right.sets.get(key);
    const title = key === "" ? `${left.label} -> ${right.label}` : key;
    if (!before || !after) {
      text.push(`${title}: only in ${before ? left.label : right.label}`);
      out.push({ variant: title, onlyIn: before ? left.label : right.label });
      continue;
    }
    const changes = diffPackages(before.packages, after.packages);
    if (key !== "" && changes.length === 0 && before.digest === after.digest) continue;
    text.push(`${title}:`);
    for (const c of changes) text.push(`  ${formatPackageChange(c)}`);
    const count = (op: string) => changes.filter((c) => c.op === op).length;
    text.push(
      `  ${count("+")} added, ${count("-")} removed, ${count("~")} changed; ${formatBytes(before.installedKiB * 1024)} -> ${formatBytes(after.installedKiB * 1024)}`,
      `  digest ${before.digest} -> ${after.digest}`,
    );
    out.push({ variant: title, changes, digest: { before: before.digest, after: after.digest }, installedKiB: { before: before.installedKiB, after: after.installedKiB } });
  }
  if (options.json) process.stdout.write(JSON.stringify({ from: left.label, to: right.label, variants: out }, null, 2) + "\n");
  else process.stdout.write(text.length > 0 ? text.join("\n") + "\n" : `No differences between ${left.label} and ${right.label}.\n`);
  return 0;
}
