// The example's image variants locked against the system's own apt lists (bookworm): the real
// catalog, thousands of packages. It needs those lists (`apt-get update`, which .ci/run does):
// without them it fails under CI and is skipped elsewhere.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemPackageLists } from "../../images/package-catalog.ts";
import { makeWorkdir, readJson, repoRoot, runCli } from "../helpers/cli.ts";

const SYSTEM_LISTS = "/var/lib/apt/lists";
const haveLists = systemPackageLists(SYSTEM_LISTS).length > 0;
if (!haveLists && process.env.CI) throw new Error("this suite needs apt's package lists: run `apt-get update` first");

interface Lock {
  catalog: string | string[];
  images: Record<string, Record<string, { packages: { name: string; base?: true }[] }>>;
}

describe.skipIf(!haveLists)("images on the system apt lists", () => {
  it("locks the java-appserver variants against bookworm and explains a dependency", async () => {
    const dir = makeWorkdir("virtform-images-apt-");
    copyFileSync(join(repoRoot, "examples", "java-appserver", "infra.ts"), join(dir, "infra.ts"));
    const real = { VIRTFORM_APT_LISTS: SYSTEM_LISTS }; // runCli's default is a stand-in
    const lock = await runCli(dir, ["images", "lock"], real);
    expect(lock.code).toBe(0);
    const written = readJson<Lock>(join(dir, "virtform.lock"));
    expect(written.catalog).toBe("apt-lists");
    const heavy = written.images["image.appserver"]!.heavy!.packages.map((p) => p.name);
    const light = written.images["image.appserver"]!.light!.packages.map((p) => p.name);
    expect(heavy).toEqual(expect.arrayContaining(["openjdk-17-jre-headless", "tomcat10", "prometheus-node-exporter", "libc6"]));
    expect(light).not.toContain("prometheus-node-exporter");
    const why = await runCli(dir, ["images", "why", "libc6", "--variant", "heavy"]);
    expect(why.code).toBe(0);
    // libc6 comes with the base: a dependency of one of bookworm's essential or required packages.
    expect(why.stdout).toMatch(/^image\.appserver:heavy:\n {2}\S+ \S+ \(base debian-12\)\n/);
    expect(why.stdout).toMatch(/-> libc6 \S+ \((Pre-)?Depends: libc6/);
    const base = written.images["image.appserver"]!.light!.packages.filter((p) => p.base).map((p) => p.name);
    expect(base).toEqual(expect.arrayContaining(["dpkg", "tar", "perl-base", "libc6", "base-files"]));
    const diff = await runCli(dir, ["images", "diff", "light", "heavy"]);
    expect(diff.stdout).toMatch(/\+ prometheus-node-exporter \S+/);
    // Every variant has the base's packages: a diff between variants never lists them.
    expect(diff.stdout).not.toMatch(/[-+~] (dpkg|tar|perl-base|base-files) /);
    const resolve = JSON.parse((await runCli(dir, ["images", "resolve", "--json"], real)).stdout) as { images: Record<string, { sharedBytes: number }> };
    expect(resolve.images["image.appserver"]!.sharedBytes).toBeGreaterThan(100 * 1024 * 1024);
  });
});
