// A built variant's layer volumes leave a libvirt host with the last instance booting them there,
// whichever stack it belongs to: two stacks (two work directories, two catalogues) share one host's
// pool and the layers of their variants; destroying one stack removes only what the other does not
// stand on, destroying the second removes the rest. Through the CLI, on a session host of its own.
// The variants are "built" by writing their layers into a layer cache of the test's own (small
// qcow2 images with the digests their lock gives, and a kernel and initrd file): the instances stay
// stopped, as nothing here boots. Booting a really built variant is libvirt-boot.test.ts's.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitLayer, layerDir, stagingDir } from "../../images/build/layer-cache.ts";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";
import { missingLibvirtTools, startSessionHost } from "../helpers/libvirt-hosts.ts";
import { HELLO_IMAGE, helloLayers, writeHelloLock } from "../helpers/hello-image.ts";

const missing = missingLibvirtTools();
if (missing.length > 0 && process.env.CI) throw new Error(`the libvirt tests need ${missing.join(", ")}: see .ci/run`);


/** A stack booting `variants` (one stopped instance each) on the cluster "web". */
const program = (name: string, variants: string[]) => `import { stack } from "virtform";
export default stack(${JSON.stringify(name)}, (s) => {
  const img = s.image("hello", ${JSON.stringify(HELLO_IMAGE)});
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 }, overcommit: { cpu: 8 } });
${variants.map((v) => `  web.instances("app-${v}", { count: 1, image: img.variant("${v}"), vcpu: 1, memoryGiB: 0.0625, powerState: "stopped" });`).join("\n")}
});
`;

describe.skipIf(missing.length > 0)("a variant's layers on a libvirt host shared by two stacks", () => {
  let host: { uri: string; stop(): void };
  const root = makeWorkdir("virtform-libvirt-layers-");
  const cache = join(root, "cache");
  const env = { VIRTFORM_APT_LISTS: "/var/lib/apt/lists", VIRTFORM_IMAGE_CACHE: cache };
  const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 16);
  const layersOf = (v: string) => helloLayers[v]!.map((l) => `layer-${short(l.digest)}.qcow2`);
  const bootOf = (v: string) => ["kernel", "initrd"].map((k) => `${k}-${short(helloLayers[v]!.at(-1)!.digest)}`);
  const dirs = { one: join(root, "one"), two: join(root, "two") };
  const cli = (stack: keyof typeof dirs, ...args: string[]) => runCli(dirs[stack], args, env);
  /** The image files in the host's home pool (layers, kernels, initrds, without their .ready markers). */
  const imageFiles = () =>
    spawnSync("virsh", ["-q", "-c", host.uri, "vol-list", "vf-home"], { encoding: "utf8" })
      .stdout.split("\n")
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter((n) => /^(layer|kernel|initrd)-[0-9a-f]{16}(\.qcow2)?$/.test(n))
      .sort();

  beforeAll(async () => {
    host = await startSessionHost("vflvlayers");
    // Each variant's layers, as `virtform images build` leaves them: qcow2 images backed by their parent's.
    for (const stack of Object.values(helloLayers)) {
      for (const layer of stack) {
        if (spawnSync("test", ["-d", layerDir(cache, layer.digest)]).status === 0) continue;
        const staging = stagingDir(cache, layer.digest);
        const parent = layer.parent ? ["-b", join(layerDir(cache, layer.parent), "layer.qcow2"), "-F", "qcow2"] : [];
        execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", ...parent, join(staging, "layer.qcow2"), "16M"]);
        // A few MiB of data each, so that an upload takes a while (two processes uploading at once overlap).
        execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -P ${stack.indexOf(layer) + 1} 0 4M`, join(staging, "layer.qcow2")], { stdio: "ignore" });
        commitLayer(cache, staging, { digest: layer.digest, role: layer.role, ...(layer.parent ? { parent: layer.parent } : {}), adds: layer.adds, files: layer.files.map((f) => f.path), rootfsDigest: "sha256:fixture", storedBytes: 1024, virtualBytes: 16 * 1024 * 1024 });
      }
      const boot = join(layerDir(cache, stack.at(-1)!.digest), "boot");
      mkdirSync(boot, { recursive: true });
      writeFileSync(join(boot, "vmlinuz"), "not a kernel: these instances never start\n");
      writeFileSync(join(boot, "initrd.img"), "not an initrd\n");
    }
    for (const [name, dir] of Object.entries(dirs)) {
      mkdirSync(dir);
      writeProgram(dir, program(name, name === "one" ? ["a", "b"] : ["a"]));
      writeHelloLock(dir);
      writeFileSync(join(dir, `virtform.${name}.json`), JSON.stringify({ backend: "libvirt", clusters: { web: [host.uri] } }));
    }
  }, 60_000);

  afterAll(() => {
    if (!process.env.VIRTFORM_KEEP_LIBVIRT_HOSTS) host?.stop();
  });

  it("keeps the layers another stack's instance stands on, and removes the rest with the last instance", async () => {
    for (const stack of ["one", "two"] as const) {
      const applied = await cli(stack, "apply", "--yes", "--require-images");
      expect(applied.code, applied.stderr).toBe(0);
    }
    // Variants a and b share their base and common layers: four layers, and a kernel and initrd each.
    const all = [...new Set([...layersOf("a"), ...layersOf("b"), ...bootOf("a"), ...bootOf("b")])].sort();
    expect(all).toHaveLength(8);
    expect(imageFiles()).toEqual(all);

    // Stack one goes: b's own layer and boot files with it; what stack two's instance of a stands on stays.
    const one = await cli("one", "destroy", "--yes");
    expect(one.code, one.stderr).toBe(0);
    expect(imageFiles()).toEqual([...layersOf("a"), ...bootOf("a")].sort());

    // The last instance of a on the host goes: nothing of the variants is left in the pool.
    const two = await cli("two", "destroy", "--yes");
    expect(two.code, two.stderr).toBe(0);
    expect(imageFiles()).toEqual([]);
    expect(spawnSync("virsh", ["-q", "-c", host.uri, "vol-list", "vf-home"], { encoding: "utf8" }).stdout).not.toMatch(/\.ready/);

    // And a new instance uploads them again.
    const again = await cli("two", "apply", "--yes", "--require-images");
    expect(again.code, again.stderr).toBe(0);
    expect(imageFiles()).toEqual([...layersOf("a"), ...bootOf("a")].sort());
    expect((await cli("two", "destroy", "--yes")).code).toBe(0);
  }, 240_000);

  it("two virtform processes uploading the same layers at once upload each once, whole", async () => {
    expect(imageFiles()).toEqual([]);
    const [one, two] = await Promise.all([cli("one", "apply", "--yes", "--require-images"), cli("two", "apply", "--yes", "--require-images")]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const virsh = (...args: string[]) => spawnSync("virsh", ["-q", "-c", host.uri, ...args], { encoding: "utf8" }).stdout;
    const volumes = virsh("vol-list", "vf-home").split("\n").map((l) => l.trim().split(/\s+/)[0]!);
    for (const layer of [...new Set([...layersOf("a"), ...layersOf("b")])]) {
      expect(volumes).toContain(`${layer}.ready`);
      const path = virsh("vol-path", layer, "--pool", "vf-home").trim();
      expect(spawnSync("qemu-img", ["check", "-U", "-q", path]).status, `${layer} is a whole qcow2 image`).toBe(0);
    }
    // Every root disk reads its variant's bytes through the whole chain: the top layer's pattern.
    for (const [stack, v] of [["one", "a"], ["one", "b"], ["two", "a"]] as const) {
      const id = (JSON.parse((await cli(stack, "state", "show", `instances.web/app-${v}[0]`, "--json")).stdout) as { id: string }).id;
      const rootDisk = virsh("vol-path", `${id}-root.qcow2`, "--pool", "vf-home").trim();
      const top = helloLayers[v]!.length;
      expect(spawnSync("qemu-io", ["-r", "-U", "-f", "qcow2", "-c", `read -P ${top} 0 4M`, rootDisk], { encoding: "utf8" }).stdout).not.toMatch(/fail|error/i);
    }
    for (const stack of ["one", "two"] as const) expect((await cli(stack, "destroy", "--yes")).code).toBe(0);
    expect(imageFiles()).toEqual([]);
  }, 240_000);

  it("waits for another process's upload still writing, and takes over one a killed upload left", async () => {
    const virsh = (...args: string[]) => spawnSync("virsh", ["-q", "-c", host.uri, ...args], { encoding: "utf8" });
    const base = helloLayers.a![0]!;
    const name = layersOf("a")[0]!;
    const cached = join(layerDir(cache, base.digest), "layer.qcow2");
    if (virsh("pool-info", "vf-home").status !== 0) {
      // Run alone: virtform makes its home pool on the host first.
      expect((await cli("two", "apply", "--yes", "--require-images")).code).toBe(0);
      expect((await cli("two", "destroy", "--yes")).code).toBe(0);
    }
    // Another process's upload under way: its volume made, its file written to all along, no marker yet.
    expect(virsh("vol-create-as", "vf-home", name, `${statSync(cached).size}`, "--format", "raw").status).toBe(0);
    const path = virsh("vol-path", name, "--pool", "vf-home").stdout.trim();
    const inode = statSync(path).ino;
    const writing = setInterval(() => utimesSync(path, new Date(), new Date()), 200);
    let finished = false;
    const applying = cli("two", "apply", "--yes", "--require-images").finally(() => (finished = true));
    try {
      await new Promise((r) => setTimeout(r, 4000));
      expect(finished, "the apply waits for the other upload").toBe(false);
      expect(virsh("vol-upload", name, cached, "--pool", "vf-home").status).toBe(0);
      expect(virsh("vol-create-as", "vf-home", `${name}.ready`, "0", "--format", "raw").status).toBe(0);
    } finally {
      clearInterval(writing);
    }
    const applied = await applying;
    expect(applied.code, applied.stderr).toBe(0);
    expect(statSync(path).ino).toBe(inode); // used as the other process left it, not made again
    expect((await cli("two", "destroy", "--yes")).code).toBe(0);
    expect(imageFiles()).toEqual([]);

    // A killed upload's file: made, half written (here: empty), last written long ago. Taken over at once.
    expect(virsh("vol-create-as", "vf-home", name, `${statSync(cached).size}`, "--format", "raw").status).toBe(0);
    const left = virsh("vol-path", name, "--pool", "vf-home").stdout.trim();
    const past = new Date(Date.now() - 600_000);
    utimesSync(left, past, past);
    const started = Date.now();
    const again = await cli("two", "apply", "--yes", "--require-images");
    expect(again.code, again.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(spawnSync("qemu-img", ["check", "-U", "-q", left]).status, "the layer is whole").toBe(0);
    expect((await cli("two", "destroy", "--yes")).code).toBe(0);
  }, 240_000);
});
