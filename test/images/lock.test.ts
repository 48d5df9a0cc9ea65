// Lock building, staleness, stable serialization and layers, on the hand-written fixture catalog.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { computeLayers, layerOf } from "../../images/layers.ts";
import { resolveLockedVariant } from "../../images/lock-builder.ts";
import { LockContext } from "../../images/lock-context.ts";
import { loadCatalog, type PackageCatalog } from "../../images/package-catalog.ts";
import { type ImageInputs } from "../../sdk/kinds/image.ts";
import { resolveVariant } from "../../images/variant.ts";
import {
  diffPackages,
  formatPackageChange,
  configDigest,
  freshness,
  readLockfile,
  serializeLockfile,
  withConfig,
  writeLockfile,
  type Lockfile,
  type LockedVariant,
} from "../../images/lockfile.ts";
import { why } from "../../images/package-reason.ts";
import { makeWorkdir } from "../helpers/cli.ts";

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
      "shell-base 5.2-1 amd64",
    ]);
    expect(light.packages.find((p) => p.name === "libc")?.sha256).toBe("1111111111111111111111111111111111111111111111111111111111112222");
    expect(light.installedKiB).toBe(180000 + 100 + 12010 + 900);
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

  it("every variant includes the base's essential and required packages, marked as its first layer", () => {
    // The fixture's required set: libc (Priority: required) and shell-base (Essential: yes).
    for (const variant of ["light", "heavy", "legacy"]) {
      const base = lock(variant).packages.filter((p) => p.base);
      expect(base.map((p) => `${p.name} ${p.version}`)).toEqual(["libc 2.36-9+deb12u1", "shell-base 5.2-1"]);
      expect(base.map((p) => p.reason)).toEqual([{ kind: "base", base: "debian-12" }, { kind: "base", base: "debian-12" }]);
    }
    // Only the base is marked: jdk's own closure is the variant's.
    expect(lock("light").packages.filter((p) => !p.base).map((p) => p.name)).toEqual(["jdk", "jdk-common"]);
    expect(why(lock("light").packages, "shell-base")).toEqual(["shell-base 5.2-1 (base debian-12)"]);
  });

  it("a variant that pins a base package to another version takes it out of the base layer", () => {
    const pinned = lock("light", { ...image, variants: { light: { packages: ["libc (= 2.36-9)"], config: {} } } });
    const libc = pinned.packages.find((p) => p.name === "libc")!;
    expect(libc.version).toBe("2.36-9");
    expect(libc.base).toBeUndefined();
    expect(libc.reason).toEqual({ kind: "requested", constraint: "= 2.36-9" });
    expect(pinned.packages.filter((p) => p.base).map((p) => p.name)).toEqual(["shell-base"]);
  });

  it("apt lists of another release cannot serve the base", async () => {
    const dir = makeWorkdir("virtform-lists-");
    const lists = (release: string) => {
      const file = join(dir, `deb.debian.org_debian_dists_${release}_main_binary-amd64_Packages`);
      writeFileSync(file, readFileSync(fixture, "utf8"));
      return file;
    };
    const trixie = resolveLockedVariant(await loadCatalog([lists("trixie")]), resolveVariant(image, "light"));
    expect(trixie).toEqual({ ok: false, explanation: "the catalog holds trixie lists, not debian-12's (bookworm)" });
    const bookworm = resolveLockedVariant(await loadCatalog([lists("bookworm"), lists("bookworm-updates")]), resolveVariant(image, "light"));
    expect(bookworm.ok).toBe(true);
  });

  it("an unsatisfiable variant fails with apt's kind of explanation", () => {
    const result = resolveLockedVariant(catalog, { base: "debian-12", packages: ["jdk (>= 17.0.15)", "legacy-tool"], config: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.explanation).toContain("legacy-tool");
  });

  it("why follows the recorded reasons from the request down", () => {
    expect(why(lock("legacy").packages, "libold-font")).toEqual([
      "jdk 17.0.14+7-1~deb12u1 (requested << 17.0.15)",
      "libold-font 1:0.9-3 (Depends: libold-font of jdk)",
    ]);
    expect(why(lock("light").packages, "httpd-a")).toBeUndefined();
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

  it("an entry of a lock older than version 3 is outdated: its set lacks the base's packages", () => {
    const heavy = lock("heavy");
    expect(freshness(heavy, resolveVariant(image, "heavy"), 2)).toBe("outdated");
    expect(freshness(heavy, resolveVariant(image, "heavy"), 3)).toBe("fresh");
  });

  it("a version 1 entry (config kept as values) is still compared by its values", () => {
    const { configDigest: _digest, ...requested } = lock("heavy").requested;
    const v1 = { ...lock("heavy"), requested: { ...requested, config: { heapMiB: 4096 } } };
    expect(freshness(v1, resolveVariant(image, "heavy"))).toBe("fresh");
    const configOnly = { ...image, variants: { ...image.variants, heavy: { packages: ["httpd-a"], config: { heapMiB: 8192 } } } };
    expect(freshness(v1, resolveVariant(configOnly, "heavy"))).toBe("config-changed");
    // A version 1 lock as a whole is outdated, like version 2: it predates the base layer.
    expect(freshness(v1, resolveVariant(image, "heavy"), 1)).toBe("outdated");
  });
});

describe("the lock file", () => {
  it("serializes stably (sorted images, variants and packages; one package per line) and reads back", () => {
    const dir = makeWorkdir("virtform-lock-");
    const one: Lockfile = { lockfileVersion: 1, catalog: ["Packages"], images: { "image.b": { heavy: lock("heavy") }, "image.a": { light: lock("light"), heavy: lock("heavy") } } };
    const two: Lockfile = { lockfileVersion: 1, catalog: ["Packages"], images: { "image.a": { heavy: lock("heavy"), light: lock("light") }, "image.b": { heavy: lock("heavy") } } };
    expect(serializeLockfile(one)).toBe(serializeLockfile(two));
    const text = serializeLockfile(one);
    expect(text.indexOf('"image.a"')).toBeLessThan(text.indexOf('"image.b"'));
    expect(text).toMatch(/^ {10}\{"name":"jdk","version":"17\.0\.15\+6-1~deb12u1","architecture":"amd64","sha256":"1010/m);
    const path = join(dir, "virtform.lock");
    writeLockfile(path, one);
    expect(readLockfile(path)).toEqual(JSON.parse(text));
    expect(serializeLockfile(readLockfile(path)!)).toBe(text);
  });

  it("has no entry for a variant named like a member of Object.prototype", () => {
    const dir = makeWorkdir("virtform-lock-");
    writeLockfile(join(dir, "virtform.lock"), { lockfileVersion: 2, catalog: ["Packages"], images: { "image.a": { light: lock("light") } } });
    const context = new LockContext(join(dir, "infra.ts"));
    const spec = resolveVariant({ ...image, variants: { constructor: { packages: [], config: {} } } }, "constructor");
    expect(context.lookup("image.a", "constructor", spec)).toBeUndefined();
    expect(context.needsLiveResolution).toBe(true); // missing from the lock, like any unlocked variant
    expect(context.lookup("constructor", "light", spec)).toBeUndefined();
  });

  it("refuses a malformed lock instead of ignoring it", () => {
    const dir = makeWorkdir("virtform-lock-");
    writeFileSync(join(dir, "virtform.lock"), '{"lockfileVersion": 2}');
    expect(() => readLockfile(join(dir, "virtform.lock"))).toThrow(/is not a virtform lock.*virtform images lock/);
    writeFileSync(join(dir, "newer.lock"), '{"lockfileVersion": 7}');
    expect(() => readLockfile(join(dir, "newer.lock"))).toThrow(/is a lock of version 7, written by a newer virtform/);
    writeFileSync(join(dir, "bad.lock"), "{");
    expect(() => readLockfile(join(dir, "bad.lock"))).toThrow(/not valid JSON/);
    expect(readLockfile(join(dir, "absent.lock"))).toBeUndefined();
  });
});

describe("layers", () => {
  const contents = (v: LockedVariant) => v.packages.map((p) => ({ name: p.name, version: p.version, installedKiB: p.installedKiB, base: p.base === true }));
  const baseBytes = (12010 + 900) * 1024; // libc and shell-base

  it("stores the base layer, then the common closure once, then each variant's remainder", () => {
    const light = lock("light");
    const heavy = lock("heavy");
    const layers = computeLayers({ light: contents(light), heavy: contents(heavy) });
    const commonBytes = (180000 + 100) * 1024;
    const httpdBytes = 400 * 1024;
    expect(layers.variants.light!.layers).toHaveLength(2);
    expect(layers.variants.heavy!.layers).toHaveLength(3);
    expect(layers.variants.heavy!.layers.slice(0, 2)).toEqual(layers.variants.light!.layers);
    expect(layers.variants.heavy!.base).toBe(layers.variants.light!.layers[0]);
    expect(layers.layers[layers.variants.light!.layers[0]!]!.packages).toEqual(["libc=2.36-9+deb12u1", "shell-base=5.2-1"]);
    expect(layers.layers[layers.variants.light!.layers[1]!]!.packages).toEqual(["jdk-common=17.0.15", "jdk=17.0.15+6-1~deb12u1"]);
    expect(layers.layers[layers.variants.heavy!.layers[2]!]!.packages).toEqual(["httpd-a=1.0-1"]);
    expect(layers.variants.light!.sizeBytes).toBe(baseBytes + commonBytes);
    expect(layers.variants.heavy!.sizeBytes).toBe(baseBytes + commonBytes + httpdBytes);
    expect(layers.sharedBytes).toBe(baseBytes + commonBytes);
    expect(layers.storedBytes).toBe(baseBytes + commonBytes + httpdBytes);
    expect(layers.totalBytes).toBe(2 * (baseBytes + commonBytes) + httpdBytes);
  });

  it("a package at different versions is in each variant's own layer, not the common one", () => {
    const layers = computeLayers({ light: contents(lock("light")), legacy: contents(lock("legacy")) });
    const common = layers.layers[layers.variants.light!.layers[1]!]!;
    expect(common.packages).toEqual(["jdk-common=17.0.15"]);
    expect(layers.layers[layers.variants.legacy!.layers[2]!]!.packages).toEqual(["jdk=17.0.14+7-1~deb12u1", "libold-font=1:0.9-3"]);
  });

  it("identical variants share everything; a lone variant shares only what it is: its base and its own layer", () => {
    const same = computeLayers({ a: contents(lock("light")), b: contents(lock("light")) });
    expect(Object.keys(same.layers)).toHaveLength(2);
    expect(same.sharedBytes).toBe(same.variants.a!.sizeBytes);
    const alone = computeLayers({ only: contents(lock("heavy")) });
    expect(alone.variants.only!.layers).toHaveLength(2);
    expect(alone.layers[alone.variants.only!.layers[0]!]!.sizeBytes).toBe(baseBytes);
    expect(alone.sharedBytes).toBe(0);
  });

  it("two images on the same base store the same base layer", () => {
    const one = computeLayers({ light: contents(lock("light")) });
    const other = computeLayers({ web: contents(lock("light", { ...image, packages: ["httpd-b"], variants: { light: { packages: [], config: {} } } })) });
    expect(one.variants.light!.layers[0]).toBe(other.variants.web!.layers[0]);
    expect(one.variants.light!.layers[1]).not.toBe(other.variants.web!.layers[1]);
  });

  it("a layer's digest depends on its package set, not on order", () => {
    const pkgs = contents(lock("heavy"));
    expect(layerOf([...pkgs].reverse()).digest).toBe(layerOf(pkgs).digest);
    expect(layerOf(pkgs.slice(1)).digest).not.toBe(layerOf(pkgs).digest);
  });
});
