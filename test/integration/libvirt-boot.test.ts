// A built variant booted on libvirt, through the CLI as a user runs it: `images build` makes the
// tiny image's variant a (the image-build suite's smallest; its layers kept in a cache that outlives
// the run, so later runs are warm), `apply` on a libvirt host of its own uploads the layers into the
// host's pool and boots one domain from an overlay on them, whose serial console shows the marker
// the variant's unit prints (image, variant, digest). Before the build, --require-images refuses.
// Needs root, mmdebstrap, the mirror, QEMU and libvirt: skipped elsewhere, fails under CI.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markerLine } from "../../images/build/config-render.ts";
import { makeWorkdir, readJson, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { missingLibvirtTools, startSessionHost } from "../helpers/libvirt-hosts.ts";
import { tinyImage } from "../helpers/tiny-image.ts";

const missing = [...missingLibvirtTools(), ...["mmdebstrap", "mkfs.ext4", "debugfs", "rsync"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0)];
if (!existsSync("/var/lib/apt/lists")) missing.push("/var/lib/apt/lists");
if (missing.length > 0 && process.env.CI) throw new Error(`booting a built variant on libvirt needs ${missing.join(", ")}: see .ci/run`);

/** Kept across runs: the build is warm after the first. */
const CACHE = "/var/tmp/virtform-test-image-cache";
const ENV = { VIRTFORM_APT_LISTS: "/var/lib/apt/lists", VIRTFORM_IMAGE_CACHE: CACHE };
const BOOT_LIMIT_MS = 240_000;

/** One running instance of variant a; with `more`, stopped ones of a (sharing its layers) and of b (not built). */
const program = (more = false) => `import { stack } from "virtform";
export default stack("boot", (s) => {
  const img = ${tinyImage(128)};
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 }, overcommit: { cpu: 16 } });
  web.instances("app", { count: 1, image: img.variant("a"), vcpu: 1, memoryGiB: 0.5 });${more ? `
  web.instances("spare", { count: 1, image: img.variant("a"), vcpu: 1, memoryGiB: 0.5, powerState: "stopped" });
  web.instances("plain", { count: 12, image: img.variant("b"), vcpu: 1, memoryGiB: 0.125, powerState: "stopped" });` : ""}
});
`;

interface State {
  resources: Record<string, { id: string; inputs: { image: { digest: string } }; outputs: { imageDigest?: string } }>;
}

describe.skipIf(missing.length > 0)("a built variant on libvirt", () => {
  let host: { uri: string; stop(): void };
  let dir: string;
  const cli = (...args: string[]) => runCli(dir, args, ENV);
  const virsh = (...args: string[]) => spawnSync("virsh", ["-q", "-c", host.uri, ...args], { encoding: "utf8" }).stdout;

  beforeAll(async () => {
    host = await startSessionHost("vflvboot");
    dir = makeWorkdir("virtform-libvirt-boot-");
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    writeProgram(dir, program());
    writeFileSync(join(dir, "virtform.boot.json"), JSON.stringify({ backend: "libvirt", clusters: { web: [host.uri] } }));
    expect((await cli("images", "lock")).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (dir) await cli("destroy", "--yes");
    if (!process.env.VIRTFORM_KEEP_LIBVIRT_HOSTS) host?.stop();
  }, 120_000);

  it("builds variant a, boots it from its layers in the host's pool and prints the marker on the serial console", async () => {
    // Variant b is never built here: --require-images refuses with the command to run, no domain made.
    const domains = virsh("list", "--all", "--name");
    const refused = await cli("apply", "--yes", "--require-images");
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain("On libvirt, instances of a variant not built boot an empty placeholder disk");
    // a too when the cache is cold (the first run, or after the layer format changed).
    expect(refused.stderr).toMatch(/image\.tiny:(a, image\.tiny:b are|b is) not built: run 'virtform images build infra\.ts' first/);
    expect(virsh("list", "--all", "--name")).toBe(domains);
    const build = await cli("images", "build", "--variant", "a", "--json");
    expect(build.code, build.stderr).toBe(0);
    const layers = (JSON.parse(build.stdout) as { variants: { layers: { digest: string }[] }[] }).variants[0]!.layers.map((l) => l.digest);

    const applied = await cli("apply", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain("image.tiny:b is not built; instances of it boot an empty placeholder disk on libvirt");
    const instance = readJson<State>(join(dir, ".virtform", "state", "boot.json")).resources["instances.web/app[0]"]!;
    expect(instance.outputs.imageDigest).toBe(layers.at(-1));

    // Its layers in the pool, each backed by the one below it there; the root disk an overlay on the top one.
    const path = (name: string) => virsh("vol-path", name, "--pool", "vf-home").trim();
    const backing = (file: string) => /^backing file: (.+)$/m.exec(spawnSync("qemu-img", ["info", "-U", file], { encoding: "utf8" }).stdout)?.[1];
    const volumes = layers.map((d) => path(`layer-${d.replace(/^sha256:/, "").slice(0, 16)}.qcow2`));
    expect(volumes.map(backing)).toEqual([undefined, ...volumes.slice(0, -1)]);
    expect(backing(path(`${instance.id}-root.qcow2`))).toBe(volumes.at(-1));

    const marker = markerLine("tiny", "a", instance.inputs.image.digest);
    const consoleFile = path(`${instance.id}-console.log`);
    const started = Date.now();
    let text = "";
    while (!text.includes(marker) && Date.now() - started < BOOT_LIMIT_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      text = readFileSync(consoleFile, "utf8");
    }
    expect(text.includes(marker), `no marker in ${BOOT_LIMIT_MS / 1000} s; console ends:\n${text.split("\n").slice(-20).join("\n")}`).toBe(true);
    process.stderr.write(`libvirt boot: marker after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect((await cli("plan", "--detailed-exitcode")).code).toBe(0);
  }, 1_200_000);

  it("shares the layers with a second instance of the variant; instances of a variant not built, created at once, share one placeholder", async () => {
    const layersBefore = virsh("vol-list", "vf-home", "--name").split("\n").filter((n) => n.startsWith("layer-")).sort();
    // No placeholder yet on the host: the instances created at once must make it once.
    for (const name of virsh("vol-list", "vf-home", "--name").split("\n").filter((n) => n.startsWith("image-"))) virsh("vol-delete", name.trim(), "--pool", "vf-home");
    writeProgram(dir, program(true));
    const applied = await cli("apply", "--yes", "--parallelism", "16");
    expect(applied.code, applied.stderr).toBe(0);
    expect(virsh("vol-list", "vf-home", "--name").split("\n").filter((n) => n.startsWith("layer-")).sort()).toEqual(layersBefore);
    const state = readJson<State>(join(dir, ".virtform", "state", "boot.json")).resources;
    const backing = (id: string) => /^backing file: (.+)$/m.exec(spawnSync("qemu-img", ["info", "-U", virsh("vol-path", `${id}-root.qcow2`, "--pool", "vf-home").trim()], { encoding: "utf8" }).stdout)?.[1];
    expect(backing(state["instances.web/spare[0]"]!.id)).toBe(backing(state["instances.web/app[0]"]!.id));
    const plain = [...Array(12).keys()].map((i) => state[`instances.web/plain[${i}]`]!);
    expect(new Set(plain.map((p) => backing(p.id))).size).toBe(1);
    expect(backing(plain[0]!.id)).toMatch(/\/image-[0-9a-f]{16}\.qcow2$/);
    expect(plain.every((p) => p.outputs.imageDigest === undefined)).toBe(true);
  }, 300_000);
});
