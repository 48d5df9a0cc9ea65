// `virtform images build` and `boot-test` for real: mmdebstrap (the base) and the image's own apt (the
// overlays) from the Debian mirror, ext4 and qcow2 layer chains, QEMU (TCG). One small image: the kernel and systemd-sysv on the base, two variants
// that differ only in config, so they share the base and the common layer and each has an overlay
// holding its rendered files. Needs root, the tools and the mirror: skipped elsewhere, fails under CI.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDpkgStatus } from "../../images/build/dpkg-status.ts";
import { repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { TINY_KEY, tinyImage } from "../helpers/tiny-image.ts";

const TOOLS = ["mmdebstrap", "mkfs.ext4", "debugfs", "qemu-img", "qemu-storage-daemon", "qemu-system-x86_64"];
const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
const isRoot = process.getuid?.() === 0;
const ready = isRoot && missing.length === 0 && existsSync("/var/lib/apt/lists");
if (!ready && process.env.CI) throw new Error(`image builds need root and ${TOOLS.join(", ")} (missing: ${missing.join(", ") || "none"}; root: ${isRoot})`);

const program = (heapB: number) => `import { stack } from "virtform";
export default stack("imgs", (s) => {
  ${tinyImage(heapB)};
});
`;

interface Manifest {
  variants: {
    variant: string;
    digest: string;
    artifact: string;
    layers: { role: string; digest: string; cached: boolean; storedBytes: number; predictedBytes: number; rootfsDigest: string }[];
  }[];
}

const REAL = { VIRTFORM_APT_LISTS: "/var/lib/apt/lists" };
const dir = mkdtempSync(join(tmpdir(), "virtform-imgbuild-"));
const cache = join(dir, "cache");
const work: string[] = [dir];
afterAll(() => {
  for (const d of work) rmSync(d, { recursive: true, force: true });
});

async function build(...args: string[]): Promise<Manifest> {
  const r = await runCli(dir, ["images", "build", "--cache", cache, "--json", ...args], REAL);
  if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Manifest;
}

/** A file of a built image, read from its flattened chain with debugfs. */
function readFromImage(image: string, path: string): string {
  const raw = join(dir, "flat.raw");
  expect(spawnSync("qemu-img", ["convert", "-O", "raw", image, raw]).status).toBe(0);
  const out = spawnSync("debugfs", ["-R", `cat ${path}`, raw], { encoding: "utf8" });
  rmSync(raw);
  return out.stdout;
}

/** The program and its lock in the test's directory (each suite can run alone). */
async function lockProgram(heapB: number): Promise<void> {
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  writeProgram(dir, program(heapB));
  expect((await runCli(dir, ["images", "lock"], REAL)).code).toBe(0);
}

/** debugfs's answer to a request ("stat PATH", "ls DIR") on a built image. */
function debugfsInImage(image: string, request: string): string {
  const raw = join(dir, "flat.raw");
  expect(spawnSync("qemu-img", ["convert", "-O", "raw", image, raw]).status).toBe(0);
  const out = spawnSync("debugfs", ["-R", request, raw], { encoding: "utf8" });
  rmSync(raw);
  return out.stdout;
}

const layerDirs = () => readdirSync(cache).filter((n) => /^[0-9a-f]{64}$/.test(n));

describe.skipIf(!ready)("images build on the Debian mirror", () => {
  let first: Manifest;

  it("builds both variants as base -> common -> variant chains holding exactly the locked packages", async () => {
    await lockProgram(128);
    first = await build();
    const [a, b] = first.variants;
    expect(a!.layers.map((l) => l.role)).toEqual(["base", "common", "variant"]);
    expect(a!.layers.slice(0, 2).map((l) => l.digest)).toEqual(b!.layers.slice(0, 2).map((l) => l.digest));
    // The image's own dpkg status is the lock's set: names, versions, architectures.
    const lock = JSON.parse(readFileSync(join(dir, "virtform.lock"), "utf8")) as { images: Record<string, Record<string, { packages: { name: string; version: string; architecture: string }[] }>> };
    const locked = lock.images["image.tiny"]!.a!.packages.map((p) => `${p.name}=${p.version}:${p.architecture}`).sort();
    const installed = parseDpkgStatus(readFromImage(a!.artifact, "/var/lib/dpkg/status")).map((p) => `${p.name}=${p.version}:${p.architecture}`).sort();
    expect(installed).toEqual(locked);
    expect(readFromImage(a!.artifact, "/etc/virtform/variant.env")).toContain("HEAP_MIB='64'\n");
    // Overlays hold what their layer changed: the files-only variant layer a few MiB, not the 300+ MiB below it;
    // the common layer its packages, plus what Installed-Size leaves out (the initrd mkinitramfs makes) and ext4's journal.
    const [base, common, own] = a!.layers;
    expect(own!.storedBytes).toBeLessThan(16 * 1024 ** 2);
    expect(common!.storedBytes).toBeLessThan(common!.predictedBytes * 1.5 + 64 * 1024 ** 2);
    expect(common!.storedBytes).toBeGreaterThan(common!.predictedBytes * 0.3);
    expect(base!.storedBytes).toBeGreaterThan(own!.storedBytes * 10);
    // Each layer names its parent relative to itself, so the cache can move whole.
    const info = JSON.parse(spawnSync("qemu-img", ["info", "--output=json", a!.artifact], { encoding: "utf8" }).stdout) as { "backing-filename": string };
    expect(info["backing-filename"]).toBe(`../${common!.digest.slice(7)}/layer.qcow2`);
    const moved = join(dir, "moved-cache");
    renameSync(cache, moved);
    try {
      expect(readFromImage(a!.artifact.replace(cache, moved), "/etc/virtform/variant.env")).toContain("HEAP_MIB='64'\n");
    } finally {
      renameSync(moved, cache);
    }
  }, 900_000);

  it("reuses cached layers: a config change rebuilds only that variant's overlay", async () => {
    writeProgram(dir, program(256));
    const started = Date.now();
    const second = await build();
    const b = second.variants.find((v) => v.variant === "b")!;
    expect(b.layers.map((l) => l.cached)).toEqual([true, true, false]);
    expect(second.variants.find((v) => v.variant === "a")!.layers.every((l) => l.cached)).toBe(true);
    expect(readFromImage(b.artifact, "/etc/virtform/variant.env")).toContain("HEAP_MIB='256'\n");
    expect(Date.now() - started).toBeLessThan(90_000);
    // b's contents: the user made by the image's useradd, the file it owns, the key, the unit enabled.
    expect(readFromImage(b.artifact, "/etc/passwd")).toMatch(/^ops:x:1000:1000::\/home\/ops:\/bin\/bash$/m);
    expect(readFromImage(b.artifact, "/etc/group")).toMatch(/^sudo:x:27:ops$/m);
    expect(readFromImage(b.artifact, "/etc/hello.conf")).toBe("heap=256\n");
    const stat = debugfsInImage(b.artifact, "stat /etc/hello.conf");
    expect(stat).toMatch(/User:\s+1000\s+Group:\s+1000\s+Project:\s+\d+\s+Size: 9/);
    expect(stat).toMatch(/Mode:\s+0640/);
    expect(readFromImage(b.artifact, "/home/ops/.ssh/authorized_keys")).toBe(`${TINY_KEY}\n`);
    expect(debugfsInImage(b.artifact, "ls /etc/systemd/system/multi-user.target.wants")).toContain("hello.service");
  }, 300_000);

  it("an interrupted build leaves no half-written layer, and the next build completes it", async () => {
    writeProgram(dir, program(512));
    const before = new Set(layerDirs());
    const child = spawn(process.execPath, [join(repoRoot, "bin", "virtform.mjs"), "images", "build", "--cache", cache, "--variant", "b"], {
      cwd: dir,
      env: { ...process.env, ...REAL },
      stdio: ["ignore", "ignore", "pipe"],
    });
    await new Promise<void>((resolvePromise) => {
      // Killed while its overlay is mounted: the layer is half-written, its export and mounts live.
      const mounted = () => /virtform-build-[^/ ]+\/mnt-/.test(readFileSync("/proc/mounts", "utf8"));
      let poll: NodeJS.Timeout | undefined;
      child.stderr.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("files on its parent")) {
          poll ??= setInterval(() => {
            if (mounted()) {
              clearInterval(poll);
              child.kill("SIGTERM");
            }
          }, 10);
        }
      });
      child.on("close", () => {
        clearInterval(poll);
        resolvePromise();
      });
    });
    expect(layerDirs().filter((d) => !before.has(d))).toEqual([]);
    expect(readdirSync(cache).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain("virtform-build-");
    expect(spawnSync("pgrep", ["-f", `qemu-storage-daemon.*${cache}`]).status).toBe(1); // no export left running
    const again = await build("--variant", "b");
    expect(again.variants[0]!.layers.map((l) => l.cached)).toEqual([true, true, false]);
  }, 300_000);

  it("is reproducible: the common and variant layers rebuilt from the mirror have the same root file system digests", async () => {
    writeProgram(dir, program(128));
    const a = first.variants.find((v) => v.variant === "a")!;
    for (const l of a.layers.slice(1)) rmSync(join(cache, l.digest.slice(7)), { recursive: true });
    const rebuilt = (await build("--variant", "a")).variants[0]!;
    expect(rebuilt.layers.map((l) => l.cached)).toEqual([true, false, false]);
    expect(rebuilt.layers.map((l) => l.rootfsDigest)).toEqual(a.layers.map((l) => l.rootfsDigest));
  }, 600_000);

  it("boots variant a under QEMU and sees its marker with the variant's digest", async () => {
    const r = await runCli(dir, ["images", "boot-test", "a", "--cache", cache, "--timeout", "240"], REAL);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const digest = first.variants.find((v) => v.variant === "a")!.digest;
    expect(r.stdout).toMatch(/^image\.tiny:a booted: marker after \d+\.\d s\n/);
    expect(r.stdout).toContain(`virtform-ready image=tiny variant=a digest=${digest}`);
  }, 300_000);
});

describe.skipIf(!ready)("plan and apply with built images", () => {
  it("plan lists the variant to build, apply --build-images builds it and the registry records it", async () => {
    writeProgram(dir, program(1024)); // b's overlay is not in the cache
    const env = { ...REAL, VIRTFORM_IMAGE_CACHE: cache };
    const plan = await runCli(dir, ["plan"], env);
    expect(plan.stdout).toMatch(/Image variants to build[^\n]*\n {2}image\.tiny:b {2}image sha256:[0-9a-f]{12} {2}1 layer to build\n/);
    expect((await runCli(dir, ["apply", "--yes", "--require-images"], env)).stderr).toContain("image.tiny:b is not built: run 'virtform images build infra.ts' first");
    const applied = await runCli(dir, ["apply", "--yes", "--build-images"], env);
    expect(applied.code).toBe(0);
    const shown = JSON.parse((await runCli(dir, ["state", "show", "image.tiny", "--json"], env)).stdout) as { outputs: { variants: Record<string, { build?: { built: boolean; artifact?: string } }> } };
    expect(shown.outputs.variants.b!.build?.built).toBe(true);
    expect(readFromImage(shown.outputs.variants.b!.build!.artifact!, "/etc/hello.conf")).toBe("heap=1024\n");
  }, 300_000);
});

describe.skipIf(!ready)("images build into a full cache", () => {
  it("fails naming the variant and the full device, and leaves no layer or staging behind", async () => {
    await lockProgram(128);
    const small = join(dir, "small-cache");
    mkdirSync(small);
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", small]).status).toBe(0);
    try {
      const r = await runCli(dir, ["images", "build", "--cache", small, "--variant", "a"], REAL);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot build image.tiny:a: no space left on the device holding ${small}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(readdirSync(small).filter((n) => n !== "debs")).toEqual([]);
    } finally {
      spawnSync("umount", [small]);
    }
  }, 600_000);
});
