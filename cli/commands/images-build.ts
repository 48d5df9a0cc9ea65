// `virtform images build` and `virtform images boot-test`: turn each locked variant into a layered
// qcow2 image in the layer cache, and boot one under QEMU to prove it.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bootTest } from "../../images/build/boot-test.ts";
import { LayerBuilder, type BuiltLayer } from "../../images/build/builder.ts";
import { cachedLayer, defaultCacheDir, layerImage } from "../../images/build/layer-cache.ts";
import type { PlannedLayer } from "../../images/build/layer-plan.ts";
import { DEFAULT_SOURCE_DATE_EPOCH, variantStacks } from "../../images/build/variant-images.ts";
import { formatBytes } from "../../images/layers.ts";
import { DiagnosticsError, type Diagnostic } from "../../core/model.ts";
import { DISTRIBUTIONS, type BaseName } from "../../images/distributions.ts";
import { resolveVariant } from "../../images/variant.ts";
import { freshness, lockedInputs, lockfilePathFor, readLockfile, withConfig, type LockedVariant } from "../../images/lockfile.ts";
import { CliError } from "../cli-error.ts";
import { programImages, selectVariants, short, type ProgramImage } from "./images.ts";

export { DEFAULT_SOURCE_DATE_EPOCH };

export interface BuildOptions {
  variant?: string;
  out?: string;
  cache?: string;
  json?: boolean;
}

interface PlannedVariant {
  image: ProgramImage;
  variant: string;
  entry: LockedVariant;
  layers: PlannedLayer[];
}

export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return DEFAULT_SOURCE_DATE_EPOCH;
  if (!/^\d+$/.test(raw)) throw new CliError(`SOURCE_DATE_EPOCH must be seconds since 1970 (a whole number), not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Each selected variant with its locked set and layer stack; every variant of an image takes part in its common layer. */
async function planFromLock(program: string, selector: string | undefined, epoch: number): Promise<PlannedVariant[]> {
  const images = await programImages(program);
  const selected = selectVariants(images, selector);
  const lockPath = lockfilePathFor(program);
  const lock = readLockfile(lockPath);
  if (!lock) throw new CliError(`no ${lockPath}: run 'virtform images lock' first (a build installs exactly the locked packages)`);
  if (lock.catalog !== "apt-lists") {
    throw new CliError(`${lockPath} was resolved against Packages files (${lock.catalog.join(", ")}); a build installs from the mirror of the system's apt sources, so lock against them: 'virtform images lock --update'`);
  }
  const problems: Diagnostic[] = [];
  const out: PlannedVariant[] = [];
  for (const image of images) {
    const wanted = selected.filter((s) => s.image === image).map((s) => s.variant);
    if (wanted.length === 0) continue;
    const entries: Record<string, LockedVariant> = {};
    for (const variant of Object.keys(image.inputs.variants)) {
      const spec = resolveVariant(image.inputs, variant);
      const entry = lock.images[image.address]?.[variant];
      const state = entry ? freshness(entry, spec, lock.lockfileVersion) : "missing";
      if (entry && state === "fresh") entries[variant] = entry;
      else if (entry && state === "config-changed") entries[variant] = withConfig(entry, spec);
      else {
        problems.push({
          severity: "error",
          address: image.address,
          path: `variants.${variant}`,
          ...(image.source ? { source: image.source } : {}),
          message: `${image.address}:${variant} is ${state === "missing" ? "not in" : `${state} in`} ${lockPath}; run 'virtform images lock' first`,
        });
      }
    }
    if (problems.length > 0) continue;
    const name = image.address.replace(/^image\./, "");
    const locked = Object.fromEntries(Object.entries(entries).map(([v, e]) => [v, lockedInputs(e)]));
    const planned = variantStacks(name, { ...image.inputs, locked }, epoch)!;
    if (!planned.ok) {
      const where = { address: image.address, ...(image.source ? { source: image.source } : {}) };
      throw new DiagnosticsError(
        planned.problems.map((p) => ({ severity: "error", ...where, path: `variants.${p.variant}.${p.path}`, message: p.message })),
        "cannot render the variants' contents",
      );
    }
    const stacks = planned.stacks;
    for (const variant of wanted) out.push({ image, variant, entry: entries[variant]!, layers: stacks[variant]! });
  }
  if (problems.length > 0) throw new DiagnosticsError(problems, `${problems.length} variant${problems.length === 1 ? " is" : "s are"} not locked`);
  return out;
}

function requireRootAndTools(tools: readonly string[]): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new CliError("image builds need root (mmdebstrap --mode=root, loop mounts); run as root");
  }
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }).status !== 0);
  if (missing.length > 0) throw new CliError(`missing tools: ${missing.join(", ")} (Debian: apt-get install mmdebstrap e2fsprogs qemu-utils qemu-system-x86)`);
}

const BUILD_TOOLS = ["mmdebstrap", "mkfs.ext4", "resize2fs", "debugfs", "qemu-img", "qemu-storage-daemon", "apt-get", "chroot", "mount", "umount"];

export async function imagesBuildCommand(program: string, options: BuildOptions): Promise<number> {
  const epoch = sourceDateEpoch();
  const planned = await planFromLock(program, options.variant, epoch);
  requireRootAndTools(BUILD_TOOLS);
  const cache = resolve(options.cache ?? defaultCacheDir());
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const builder = new LayerBuilder({ cache, sourceDateEpoch: epoch, log });
  const results: { plan: PlannedVariant; layers: BuiltLayer[] }[] = [];
  try {
    for (const plan of planned) {
      const suite = DISTRIBUTIONS[plan.image.inputs.base as BaseName].codename;
      log(`${plan.image.address}:${plan.variant}`);
      try {
        results.push({ plan, layers: await builder.buildFor(suite, plan.layers, plan.entry.packages) });
      } catch (err) {
        const message = (err as Error).message;
        // The tools' own words for a full disk are deep in their output: say it first, with where.
        const full = /No space left on device|ENOSPC/.test(message) ? `no space left on the device holding ${cache} or ${tmpdir()}\n` : "";
        throw new DiagnosticsError(
          [{ severity: "error", address: plan.image.address, path: `variants.${plan.variant}`, ...(plan.image.source ? { source: plan.image.source } : {}), message: `cannot build ${plan.image.address}:${plan.variant}: ${full}${message}` }],
          "image build failed",
        );
      }
    }
  } finally {
    builder.close();
  }
  const manifest = buildManifest(results, cache);
  if (options.out !== undefined) writeOut(resolve(options.out), results, cache, manifest);
  if (options.json) process.stdout.write(JSON.stringify(manifest, null, 2) + "\n");
  else process.stdout.write(formatReport(results, manifest.sharedBytes, cache));
  return 0;
}

const kib = (plan: PlannedVariant, layer: BuiltLayer) => {
  const sizes = new Map(plan.entry.packages.map((p) => [`${p.name}=${p.version}`, p.installedKiB]));
  return layer.adds.reduce((sum, id) => sum + (sizes.get(id) ?? 0), 0);
};

function buildManifest(results: { plan: PlannedVariant; layers: BuiltLayer[] }[], cache: string) {
  const uses = new Map<string, number>();
  for (const r of results) for (const l of r.layers) uses.set(l.digest, (uses.get(l.digest) ?? 0) + 1);
  const layers = new Map(results.flatMap((r) => r.layers.map((l) => [l.digest, l] as const)));
  const sharedBytes = [...uses].filter(([, n]) => n > 1).reduce((sum, [d]) => sum + layers.get(d)!.storedBytes, 0);
  return {
    formatVersion: 1,
    cache,
    sharedBytes,
    storedBytes: [...layers.values()].reduce((sum, l) => sum + l.storedBytes, 0),
    variants: results.map(({ plan, layers: ls }) => ({
      image: plan.image.address,
      variant: plan.variant,
      digest: plan.entry.digest,
      artifact: layerImage(cache, ls.at(-1)!.digest),
      layers: ls.map((l) => ({
        role: l.role,
        digest: l.digest,
        cached: l.cached,
        seconds: l.seconds,
        packages: l.adds.length,
        files: l.files,
        predictedBytes: kib(plan, l) * 1024,
        storedBytes: l.storedBytes,
        virtualBytes: l.virtualBytes,
        rootfsDigest: l.rootfsDigest,
      })),
    })),
  };
}

function formatReport(results: { plan: PlannedVariant; layers: BuiltLayer[] }[], sharedBytes: number, cache: string): string {
  const lines: string[] = [];
  for (const { plan, layers } of results) {
    lines.push(`${plan.image.address}:${plan.variant}  ${plan.entry.digest}`);
    for (const l of layers) {
      const how = l.cached ? "cached" : `built in ${l.seconds.toFixed(1)} s`;
      lines.push(
        `  ${l.role.padEnd(7)} ${short(l.digest)}  ${String(l.adds.length).padStart(4)} packages  predicted ${formatBytes(kib(plan, l) * 1024).padStart(10)} installed  stored ${formatBytes(l.storedBytes).padStart(10)} qcow2  ${how}`,
      );
    }
    lines.push(`  image: ${layerImage(cache, layers.at(-1)!.digest)}`);
  }
  lines.push(`shared between variants: ${formatBytes(sharedBytes)} of stored layers`, "");
  return lines.join("\n");
}

/** --out: one symbolic link per variant to its top layer (its backing chain stays in the cache), and build.json. */
function writeOut(dir: string, results: { plan: PlannedVariant; layers: BuiltLayer[] }[], cache: string, manifest: unknown): void {
  mkdirSync(dir, { recursive: true });
  for (const { plan, layers } of results) {
    const link = join(dir, `${plan.image.address.replace(/^image\./, "")}-${plan.variant}.qcow2`);
    rmSync(link, { force: true });
    symlinkSync(layerImage(cache, layers.at(-1)!.digest), link);
  }
  writeFileSync(join(dir, "build.json"), JSON.stringify(manifest, null, 2) + "\n");
}

export async function imagesBootTestCommand(variant: string, program: string, options: { cache?: string; timeout?: string }): Promise<number> {
  const planned = await planFromLock(program, variant, sourceDateEpoch());
  if (planned.length > 1) throw new CliError(`${variant} names more than one variant (${planned.map((p) => `${p.image.address}:${p.variant}`).join(", ")}); name the image too`);
  const plan = planned[0]!;
  const cache = resolve(options.cache ?? defaultCacheDir());
  const top = plan.layers.at(-1)!;
  if (!cachedLayer(cache, top.digest)) {
    throw new CliError(`${plan.image.address}:${plan.variant} is not built (no layer ${short(top.digest)} in ${cache}); run 'virtform images build --variant ${plan.variant}${options.cache ? ` --cache ${options.cache}` : ""}' first`);
  }
  requireRootAndTools(["qemu-system-x86_64", "qemu-img", "debugfs"]);
  const seconds = Number(options.timeout ?? "300");
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--timeout must be a positive number of seconds, not ${options.timeout}`);
  const result = await bootTest({
    image: layerImage(cache, top.digest),
    imageName: plan.image.address.replace(/^image\./, ""),
    variant: plan.variant,
    digest: plan.entry.digest,
    timeoutMs: seconds * 1000,
  });
  if (!result.ok) {
    process.stderr.write(`Error: ${plan.image.address}:${plan.variant} did not print its marker within ${seconds} s. Last console lines:\n${result.consoleTail}\n`);
    return 1;
  }
  process.stdout.write(`${plan.image.address}:${plan.variant} booted: marker after ${result.seconds.toFixed(1)} s\n${result.marker}\n`);
  return 0;
}
