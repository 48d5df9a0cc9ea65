// Image builds, the pure parts: which layers each variant is made of, what their digests cover, the
// cache's directories (staging renamed into place; leftovers of dead builds swept), and an upper
// layer's content digest over what it changed.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RenderedFile } from "../../images/build/config-render.ts";
import { backingReference, cachedLayer, commitLayer, defaultCacheDir, dropChildren, layerImage, stagingDir, sweepStaging } from "../../images/build/layer-cache.ts";
import { debFileName } from "../../images/build/layer-install.ts";
import { layerDigest, planLayers } from "../../images/build/layer-plan.ts";
import { changedSince, clampMtimesOf, layerContentDigest } from "../../images/build/rootfs.ts";
import { lockedPackage } from "../helpers/locked-package.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const pkg = (name: string, version = "1", base = false) => lockedPackage(name, version, base, 10);
const BASE = [pkg("libc6", "2.36", true), pkg("dpkg", "1.21", true)];
const file = (content: string): RenderedFile => ({ path: "/etc/virtform/variant.env", mode: 0o644, content });

describe("planLayers", () => {
  const variants = {
    light: [...BASE, pkg("tomcat10", "10.1"), pkg("openjdk", "17")],
    heavy: [...BASE, pkg("tomcat10", "10.1"), pkg("openjdk", "17"), pkg("exporter", "1.5")],
  };
  const files = { light: [file("HEAP=512\n")], heavy: [file("HEAP=8192\n")] };
  const plan = planLayers(variants, files, 0);

  it("stacks base, common and variant layers; the lower two are the same layer in every variant", () => {
    expect(plan.light!.map((l) => l.role)).toEqual(["base", "common", "variant"]);
    expect(plan.light!.map((l) => l.adds)).toEqual([["dpkg=1.21", "libc6=2.36"], ["openjdk=17", "tomcat10=10.1"], []]);
    expect(plan.heavy!.map((l) => l.adds)[2]).toEqual(["exporter=1.5"]);
    expect(plan.heavy![0]!.digest).toBe(plan.light![0]!.digest);
    expect(plan.heavy![1]!.digest).toBe(plan.light![1]!.digest);
    expect(plan.heavy![2]!.digest).not.toBe(plan.light![2]!.digest);
    expect(plan.heavy![2]!.parent).toBe(plan.heavy![1]!.digest);
    expect(plan.heavy![2]!.cumulative).toEqual(["dpkg=1.21", "exporter=1.5", "libc6=2.36", "openjdk=17", "tomcat10=10.1"]);
  });

  it("a config change rebuilds only the variant's own layer", () => {
    const changed = planLayers(variants, { ...files, light: [file("HEAP=1024\n")] }, 0);
    expect(changed.light!.map((l) => l.digest).slice(0, 2)).toEqual(plan.light!.map((l) => l.digest).slice(0, 2));
    expect(changed.light![2]!.digest).not.toBe(plan.light![2]!.digest);
    expect(changed.heavy!.map((l) => l.digest)).toEqual(plan.heavy!.map((l) => l.digest));
  });

  it("one variant alone has no common layer: its packages are one layer on the base", () => {
    const one = planLayers({ light: variants.light }, {}, 0);
    expect(one.light!.map((l) => [l.role, l.adds.length])).toEqual([
      ["base", 2],
      ["variant", 2],
    ]);
  });
});

describe("layerDigest covers the parent, the packages, the files and SOURCE_DATE_EPOCH", () => {
  const at = { parent: "sha256:p", adds: ["a=1", "b=2"], files: [file("x")], sourceDateEpoch: 1 };
  const d = layerDigest(at);
  it.each([
    ["another parent", { ...at, parent: "sha256:q" }],
    ["no parent", { ...at, parent: undefined }],
    ["another version", { ...at, adds: ["a=1", "b=3"] }],
    ["another file content", { ...at, files: [file("y")] }],
    ["another file mode", { ...at, files: [{ ...file("x"), mode: 0o600 }] }],
    ["another epoch", { ...at, sourceDateEpoch: 2 }],
  ])("%s changes it", (_label, input) => expect(layerDigest(input)).not.toBe(d));
  it("the order packages are listed in does not", () => expect(layerDigest({ ...at, adds: ["b=2", "a=1"] })).toBe(d));
});

describe("layer cache", () => {
  it("defaults to ~/.cache/virtform/images, or under XDG_CACHE_HOME", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/virtform/images");
    expect(defaultCacheDir({})).toMatch(/\/\.cache\/virtform\/images$/);
  });

  it("a layer is found only once its staging directory is committed, and dead builds' staging is swept", () => {
    const cache = makeWorkdir("virtform-cache-");
    const digest = `sha256:${"ab".repeat(32)}`;
    const staging = stagingDir(cache, digest);
    writeFileSync(join(staging, "layer.qcow2"), "qcow2");
    expect(cachedLayer(cache, digest)).toBeUndefined();
    commitLayer(cache, staging, { digest, role: "base", adds: [], files: [], rootfsDigest: "sha256:r", storedBytes: 5, virtualBytes: 5 });
    expect(cachedLayer(cache, digest)?.rootfsDigest).toBe("sha256:r");
    expect(layerImage(cache, digest)).toBe(join(cache, "ab".repeat(32), "layer.qcow2"));
    expect(existsSync(staging)).toBe(false);
    // A process id no live process has (above the kernel's pid_max), and our parent's, which is alive.
    mkdirSync(join(cache, ".tmp-abab-4194305"));
    mkdirSync(join(cache, `.tmp-abab-${process.ppid}`));
    expect(sweepStaging(cache)).toEqual([".tmp-abab-4194305"]);
    expect(existsSync(join(cache, `.tmp-abab-${process.ppid}`))).toBe(true);
  });

  it("a layer built anew drops the cached layers stored on it, and theirs", () => {
    const cache = makeWorkdir("virtform-cache-");
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const put = (digest: string, parent?: string) => {
      const staging = stagingDir(cache, digest);
      writeFileSync(join(staging, "layer.qcow2"), "");
      commitLayer(cache, staging, { digest, role: "x", ...(parent ? { parent } : {}), adds: [], files: [], rootfsDigest: "", storedBytes: 0, virtualBytes: 0 });
    };
    put(d("a"));
    put(d("b"), d("a"));
    put(d("c"), d("b"));
    put(d("e"));
    expect(dropChildren(cache, d("a")).sort()).toEqual([d("b"), d("c")]);
    expect([d("a"), d("b"), d("c"), d("e")].map((x) => cachedLayer(cache, x) !== undefined)).toEqual([true, false, false, true]);
  });
});

describe("an upper layer's content digest: what it changed, chained to its parent's", () => {
  const EPOCH = 1_704_067_200;
  /** A tree made "long ago", as a parent layer's is when its child is built. */
  const parentTree = () => {
    const root = makeWorkdir("virtform-delta-");
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc", "kept"), "parent's\n");
    writeFileSync(join(root, "etc", "gone"), "removed by the layer\n");
    return root;
  };
  /** What a layer does, after `since` (ctime is the kernel's clock, so the parent's entries are older). */
  const layer = (root: string, content: string) => {
    writeFileSync(join(root, "etc", "new"), content);
    rmSync(join(root, "etc", "gone"));
  };

  it("lists only the entries the layer touched, digests them after the parent's, and clamps their times", async () => {
    const a = parentTree();
    const b = parentTree();
    await new Promise((r) => setTimeout(r, 20));
    const since = Date.now();
    // The kernel stamps ctime from a coarse clock (a tick behind); a build's first write comes long after its mount anyway.
    await new Promise((r) => setTimeout(r, 30));
    layer(a, "same\n");
    layer(b, "same\n");
    const changed = changedSince(a, since);
    // The root's listing did not change: only etc (an entry removed, one added) and the new file.
    expect(changed).toEqual(["etc", "etc/new"]);
    clampMtimesOf(a, changed, EPOCH);
    clampMtimesOf(b, changedSince(b, since), EPOCH);
    expect(statSync(join(a, "etc", "new")).mtimeMs / 1000).toBe(EPOCH);
    expect(statSync(join(a, "etc", "kept")).mtimeMs / 1000).toBeGreaterThan(EPOCH); // not the layer's: left alone
    const digestA = layerContentDigest("sha256:parent", a, changed);
    expect(layerContentDigest("sha256:parent", b, changedSince(b, since))).toBe(digestA);
    expect(layerContentDigest("sha256:other-parent", a, changed)).not.toBe(digestA);
    writeFileSync(join(b, "etc", "new"), "different\n");
    expect(layerContentDigest("sha256:parent", b, changedSince(b, since))).not.toBe(digestA);
    for (const d of [a, b]) rmSync(d, { recursive: true, force: true });
  });

  it("names a layer's parent relative to its own directory, and each .deb as apt does", () => {
    expect(backingReference(`sha256:${"ab".repeat(32)}`)).toBe(`../${"ab".repeat(32)}/layer.qcow2`);
    expect(debFileName({ name: "libc6", version: "2.36-9+deb12u10", architecture: "amd64" })).toBe("libc6_2.36-9+deb12u10_amd64.deb");
    expect(debFileName({ name: "tzdata", version: "1:2025b-0", architecture: "all" })).toBe("tzdata_1%3a2025b-0_all.deb");
  });
});
