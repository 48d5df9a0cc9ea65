// The pure parts of booting a built variant on libvirt: which layers a variant's top layer stands
// on (read from the layer cache's records), their content-addressed volume names, and the domain
// XML of a built variant (direct kernel boot, serial console to a file) against a placeholder's.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BOOT_CMDLINE } from "../../images/build/boot-test.ts";
import { commitLayer, layerImage, stagingDir, type LayerRecord } from "../../images/build/layer-cache.ts";
import { domainXml } from "../../provider/libvirt/domain-xml.ts";
import { abandoned, initrdVolume, kernelVolume, layerStack, layerVolume, unusedImageFiles } from "../../provider/libvirt/variant-volumes.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function cacheWith(layers: { digest: string; parent?: string; virtualBytes: number }[]): string {
  const cache = makeWorkdir("virtform-variant-volumes-");
  for (const l of layers) {
    const staging = stagingDir(cache, l.digest);
    writeFileSync(join(staging, "layer.qcow2"), "");
    const record: LayerRecord = { digest: l.digest, role: "x", adds: [], files: [], rootfsDigest: "", storedBytes: 0, virtualBytes: l.virtualBytes, ...(l.parent ? { parent: l.parent } : {}) };
    commitLayer(cache, staging, record);
  }
  return cache;
}

describe("a built variant's layers", () => {
  const cache = cacheWith([
    { digest: digest("a"), virtualBytes: 2 },
    { digest: digest("b"), parent: digest("a"), virtualBytes: 2 },
    { digest: digest("c"), parent: digest("b"), virtualBytes: 3 },
    { digest: digest("d"), parent: digest("e"), virtualBytes: 3 }, // its parent is gone
  ]);

  it.each([
    ["a base alone", "a", ["a"]],
    ["a variant on common on base", "c", ["a", "b", "c"]],
    ["a common layer", "b", ["a", "b"]],
  ])("%s: bottom first", (_name, top, expected) => {
    expect(layerStack(cache, digest(top)).map((l) => l.digest)).toEqual(expected.map(digest));
  });

  it("the top layer's size is the root disk's", () => {
    expect(layerStack(cache, digest("c")).at(-1)!.virtualBytes).toBe(3);
  });

  it("a layer missing from the cache names it and the command to run", () => {
    expect(() => layerStack(cache, digest("d"))).toThrow(/layer eeeeeeeeeeeeeeee is not in the layer cache .* build the variant again \('virtform images build'\)/);
  });

  it("volume names are the digest's, so every instance and stack on a host shares them", () => {
    expect(layerVolume(digest("c"))).toBe("layer-cccccccccccccccc.qcow2");
    expect(layerImage(cache, digest("c"))).toContain("c".repeat(64));
  });
});

describe("the domain of a built variant", () => {
  const base = { name: "vf-i-1", vcpu: 1, memoryMiB: 512, root: "/p/i-1-root.qcow2", metadata: {} };

  it("boots its own kernel with the root on vda and the console in a file", () => {
    const xml = domainXml({ ...base, kernel: { kernel: "/p/kernel-x", initrd: "/p/initrd-x", cmdline: BOOT_CMDLINE }, console: "/p/i-1-console.log" });
    expect(xml).toContain("<kernel>/p/kernel-x</kernel><initrd>/p/initrd-x</initrd><cmdline>root=/dev/vda rw console=ttyS0 panic=-1</cmdline>");
    expect(xml).toContain("<serial type='file'><source path='/p/i-1-console.log'/>");
    expect(xml).toContain("<source file='/p/i-1-root.qcow2'/><target dev='vda' bus='virtio'/>");
    expect(xml).not.toContain("<boot dev='hd'/>");
  });

  it("a placeholder boots from its disk, with no console file", () => {
    const xml = domainXml(base);
    expect(xml).toContain("<boot dev='hd'/>");
    expect(xml).not.toMatch(/<kernel>|<serial/);
  });
});

describe("another process's upload of a layer", () => {
  const now = 1_800_000_000_000; // ms
  const seconds = (ms: number) => `${ms / 1000}.123456789`;
  const host = now / 1000; // the host's clock agrees with ours
  it.each([
    ["written just now, first seen now", seconds(now - 1000), now, host, false],
    ["unchanged for 29 s while watched", seconds(now - 29_000), now - 29_000, host, false],
    ["unchanged for 31 s while watched: its upload died", seconds(now - 31_000), now - 31_000, host, true],
    ["last written 10 minutes ago, first seen now: a killed run's", seconds(now - 600_000), now, host, true],
    ["last written 100 s ago, first seen now", seconds(now - 100_000), now, host, false],
    // A host whose clock is 10 minutes behind ours: its fresh file is not taken for a killed one's.
    ["written just now by a host 10 minutes behind", seconds(now - 600_000), now, host - 600, false],
    ["the host's time unknown: only the watch counts", seconds(now - 600_000), now, undefined, false],
  ])("%s", (_what, mtime, since, hostNow, expected) => {
    expect(abandoned(mtime, since, hostNow, now)).toBe(expected);
  });
});

describe("which image files leave a host's pool", () => {
  // Variants A and B on one base: base <- common <- a, base <- common <- b. Every file uploaded whole.
  const L = (c: string) => layerVolume(digest(c));
  const boot = (c: string) => [kernelVolume(digest(c)), initrdVolume(digest(c))];
  const files = [L("0"), L("1"), L("a"), L("b"), ...boot("a"), ...boot("b")];
  const names = [...files, ...files.map((n) => `${n}.ready`)];
  const chain: [string, string][] = [[L("1"), L("0")], [L("a"), L("1")], [L("b"), L("1")]];
  const pool = (...roots: [string, string][]) => new Map([...chain, ...roots]);
  const none = () => false;

  it.each([
    ["a's last instance went, b has one: a's own layer and boot files", pool(["i-2-root.qcow2", L("b")]), ["a"], none, [L("a"), ...boot("a")]],
    ["another stack's instance of a stands on it: nothing", pool(["i-9-root.qcow2", L("a")]), ["a"], none, []],
    ["a released, b's layer (no instance) still stands on the common ones", pool(), ["a"], none, [L("a"), ...boot("a")]],
    ["a and b both released in one pass: everything, tops first", pool(), ["a", "b"], none, [L("a"), L("1"), L("0"), L("b"), ...boot("a"), ...boot("b")]],
    ["a volume of any name standing on the base keeps the base", pool(["someone-else.qcow2", L("0")]), ["a", "b"], none, [L("a"), L("1"), L("b"), ...boot("a"), ...boot("b")]],
    ["a pinned by a create of this process", pool(), ["a", "b"], (n: string) => [L("a"), L("1"), L("0"), ...boot("a")].includes(n), [L("b"), ...boot("b")]],
  ])("%s", (_what, backing, tops, pinned, expected) => {
    expect(unusedImageFiles(names, backing, tops.map(digest), pinned)).toEqual(expected);
  });

  it("a layer without its marker is another process's upload: kept, with what it stands on and its boot files", () => {
    const uploading = names.filter((n) => n !== `${L("a")}.ready`);
    expect(unusedImageFiles(uploading, pool(), [digest("a"), digest("b")], none)).toEqual([L("b"), ...boot("b")]);
  });
});
