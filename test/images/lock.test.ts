// Lock building, staleness, stable serialization and layers, on the hand-written fixture catalog.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { computeLayers, layerOf } from "../../emulator/images/layers.ts";
import { resolveLockedVariant } from "../../emulator/images/lock-builder.ts";
import { loadCatalog, type PackageCatalog } from "../../emulator/images/package-catalog.ts";
import { resolveVariant, type ImageInputs } from "../../sdk/kinds/image.ts";
import {
  diffPackages,
  formatPackageChange,
  configDigest,
  freshness,
  lockedWhy,
  readLock,
  serializeLock,
  withConfig,
  writeLock,
  type LockFile,
  type LockedVariant,
} from "../../sdk/lock.ts";

const fixture = fileURLToPath(new URL("./fixtures/Packages", import.meta.url));
let catalog: PackageCatalog;

const image: ImageInputs = {
  base: "debian-12",
  packages: ["jdk"],
  config: { heapMiB: 512 },
  variants: {
    light: { packages: [], config: {} },
    heavy: { packages: ["httpd-a"], config: { heapMiB: 4096 } },
    legacy: { packages: ["jdk (<< 17.0.15)"], config: {} },
  },
};

function lock(variant: string, inputs: ImageInputs = image): LockedVariant {
  const result = resolveLockedVariant(catalog, resolveVariant(inputs, variant));
  if (!result.ok) throw new Error(result.explanation);
  return result.variant;
}

beforeAll(async () => {
  catalog = await loadCatalog([fixture]);
});

describe("locking a variant", () => {
  it("records the exact closure with versions, architectures, sha256 and sizes", () => {
    const light = lock("light");
    expect(light.packages.map((p) => `${p.name} ${p.version} ${p.architecture}`)).toEqual([
      "jdk 17.0.15+6-1~deb12u1 amd64",
      "jdk-common 17.0.15 all",
      "libc 2.36-9+deb12u1 amd64",
    ]);
    expect(light.packages.find((p) => p.name === "libc")?.sha256).toBe("1111111111111111111111111111111111111111111111111111111111112222");
    expect(light.installedKiB).toBe(180000 + 100 + 12010);
    // The config is kept as a digest only: it may hold secrets, and the lock is committed.
    expect(light.requested).toEqual({ base: "debian-12", packages: ["jdk"], configDigest: configDigest({ heapMiB: 512 }) });
    expect(light.requested.configDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(light.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("a variant's constraint overrides the base's and changes the set", () => {
    const legacy = lock("legacy");
    expect(legacy.requested.packages).toEqual(["jdk (<< 17.0.15)"]);
    const changes = diffPackages(lock("light").packages, legacy.packages).map(formatPackageChange);
    expect(changes).toEqual(["~ jdk 17.0.15+6-1~deb12u1 -> 17.0.14+7-1~deb12u1", "+ libold-font 1:0.9-3"]);
  });

  it("the digest covers the set and the config, and nothing else", () => {
    const light = lock("light");
    expect(lock("light").digest).toBe(light.digest);
    const moreHeap = resolveVariant({ ...image, config: { heapMiB: 1024 } }, "light");
    expect(withConfig(light, moreHeap).digest).not.toBe(light.digest);
    expect(withConfig(light, moreHeap).packages).toEqual(light.packages);
    // Same config written in another key order: same digest.
    const a = resolveLockedVariant(catalog, { base: "debian-12", packages: ["jdk"], config: { a: 1, b: 2 } });
    const b = resolveLockedVariant(catalog, { base: "debian-12", packages: ["jdk"], config: { b: 2, a: 1 } });
    expect(a.ok && b.ok && a.variant.digest === b.variant.digest).toBe(true);
  });

  it("an unsatisfiable variant fails with apt's kind of explanation", () => {
    const result = resolveLockedVariant(catalog, { base: "debian-12", packages: ["jdk (>= 17.0.15)", "legacy-tool"], config: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.explanation).toContain("legacy-tool");
  });

  it("why follows the recorded reasons from the request down", () => {
    expect(lockedWhy(lock("legacy").packages, "libold-font")).toEqual([
      "jdk 17.0.14+7-1~deb12u1 (requested << 17.0.15)",
      "libold-font 1:0.9-3 (Depends: libold-font of jdk)",
    ]);
    expect(lockedWhy(lock("light").packages, "httpd-a")).toBeUndefined();
  });
});

describe("staleness", () => {
  it("is fresh for the same request, config-changed for config only, stale for packages or base", () => {
    const heavy = lock("heavy");
    expect(freshness(heavy, resolveVariant(image, "heavy"))).toBe("fresh");
    const configOnly = { ...image, variants: { ...image.variants, heavy: { packages: ["httpd-a"], config: { heapMiB: 8192 } } } };
    expect(freshness(heavy, resolveVariant(configOnly, "heavy"))).toBe("config-changed");
    const morePackages = { ...image, variants: { ...image.variants, heavy: { packages: ["httpd-a", "pre-app"], config: { heapMiB: 4096 } } } };
    expect(freshness(heavy, resolveVariant(morePackages, "heavy"))).toBe("stale");
    const constraint = { ...image, packages: ["jdk (>= 17.0.15)"] };
    expect(freshness(heavy, resolveVariant(constraint, "heavy"))).toBe("stale");
    expect(freshness(heavy, { ...resolveVariant(image, "heavy"), base: "debian-13" })).toBe("stale");
  });

  it("a version 1 entry (config kept as values) is still compared by its values", () => {
    const { configDigest: _digest, ...requested } = lock("heavy").requested;
    const v1 = { ...lock("heavy"), requested: { ...requested, config: { heapMiB: 4096 } } };
    expect(freshness(v1, resolveVariant(image, "heavy"))).toBe("fresh");
    const configOnly = { ...image, variants: { ...image.variants, heavy: { packages: ["httpd-a"], config: { heapMiB: 8192 } } } };
    expect(freshness(v1, resolveVariant(configOnly, "heavy"))).toBe("config-changed");
  });
});

describe("the lock file", () => {
  it("serializes stably (sorted images, variants and packages; one package per line) and reads back", () => {
    const dir = mkdtempSync(join(tmpdir(), "virtform-lock-"));
    const one: LockFile = { lockfileVersion: 1, catalog: ["Packages"], images: { "image.b": { heavy: lock("heavy") }, "image.a": { light: lock("light"), heavy: lock("heavy") } } };
    const two: LockFile = { lockfileVersion: 1, catalog: ["Packages"], images: { "image.a": { heavy: lock("heavy"), light: lock("light") }, "image.b": { heavy: lock("heavy") } } };
    expect(serializeLock(one)).toBe(serializeLock(two));
    const text = serializeLock(one);
    expect(text.indexOf('"image.a"')).toBeLessThan(text.indexOf('"image.b"'));
    expect(text).toMatch(/^ {10}\{"name":"jdk","version":"17\.0\.15\+6-1~deb12u1","architecture":"amd64","sha256":"1010/m);
    const path = join(dir, "virtform.lock");
    writeLock(path, one);
    expect(readLock(path)).toEqual(JSON.parse(text));
    expect(serializeLock(readLock(path)!)).toBe(text);
  });

  it("refuses a malformed lock instead of ignoring it", () => {
    const dir = mkdtempSync(join(tmpdir(), "virtform-lock-"));
    writeFileSync(join(dir, "virtform.lock"), '{"lockfileVersion": 7}');
    expect(() => readLock(join(dir, "virtform.lock"))).toThrow(/is not a virtform lock.*virtform images lock/);
    writeFileSync(join(dir, "bad.lock"), "{");
    expect(() => readLock(join(dir, "bad.lock"))).toThrow(/not valid JSON/);
    expect(readLock(join(dir, "absent.lock"))).toBeUndefined();
  });
});

describe("layers", () => {
  const contents = (v: LockedVariant) => v.packages.map((p) => ({ name: p.name, version: p.version, installedKiB: p.installedKiB }));

  it("stores the common closure once and each variant's remainder on top", () => {
    const light = lock("light");
    const heavy = lock("heavy");
    const layers = computeLayers({ light: contents(light), heavy: contents(heavy) });
    const commonBytes = (180000 + 100 + 12010) * 1024;
    const httpdBytes = 400 * 1024;
    expect(layers.variants.light!.layers).toHaveLength(1);
    expect(layers.variants.heavy!.layers).toHaveLength(2);
    expect(layers.variants.heavy!.layers[0]).toBe(layers.variants.light!.layers[0]);
    expect(layers.layers[layers.variants.heavy!.layers[1]!]!.packages).toEqual(["httpd-a=1.0-1"]);
    expect(layers.variants.light!.sizeBytes).toBe(commonBytes);
    expect(layers.variants.heavy!.sizeBytes).toBe(commonBytes + httpdBytes);
    expect(layers.sharedBytes).toBe(commonBytes);
    expect(layers.storedBytes).toBe(commonBytes + httpdBytes);
    expect(layers.totalBytes).toBe(2 * commonBytes + httpdBytes);
  });

  it("a package at different versions is in each variant's own layer, not the common one", () => {
    const layers = computeLayers({ light: contents(lock("light")), legacy: contents(lock("legacy")) });
    const common = layers.layers[layers.variants.light!.layers[0]!]!;
    expect(common.packages).toEqual(["jdk-common=17.0.15", "libc=2.36-9+deb12u1"]);
    expect(layers.layers[layers.variants.legacy!.layers[1]!]!.packages).toEqual(["jdk=17.0.14+7-1~deb12u1", "libold-font=1:0.9-3"]);
  });

  it("identical variants share everything; a lone variant shares nothing", () => {
    const same = computeLayers({ a: contents(lock("light")), b: contents(lock("light")) });
    expect(Object.keys(same.layers)).toHaveLength(1);
    expect(same.sharedBytes).toBe(same.variants.a!.sizeBytes);
    const alone = computeLayers({ only: contents(lock("heavy")) });
    expect(alone.variants.only!.layers).toHaveLength(1);
    expect(alone.sharedBytes).toBe(0);
  });

  it("a layer's digest depends on its package set, not on order", () => {
    const pkgs = contents(lock("heavy"));
    expect(layerOf([...pkgs].reverse()).digest).toBe(layerOf(pkgs).digest);
    expect(layerOf(pkgs.slice(1)).digest).not.toBe(layerOf(pkgs).digest);
  });
});
