// `virtform images ...` and locks in plan/apply, end to end through the real binary. Programs run in
// temp dirs and resolve against the fixture catalog (--packages), so no apt lists are needed; one
// suite uses the system's apt lists where they exist.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemPackageLists } from "../../emulator/images/package-catalog.ts";
import { makeWorkdir, readJson, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";

const fixture = join(repoRoot, "test", "images", "fixtures", "Packages");

function program(heavyPackages: string[], heavyHeap = 4096): string {
  return `import { stack } from "virtform";
export default stack("imgs", (s) => {
  const app = s.image("app", {
    base: "debian-12",
    packages: ["jdk"],
    config: { heapMiB: 512 },
    variants: { light: {}, heavy: { packages: ${JSON.stringify(heavyPackages)}, config: { heapMiB: ${heavyHeap} } } },
  });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 500 } });
  web.instances("front", { count: 2, image: app.variant("heavy"), vcpu: 2, memoryGiB: 4 });
  web.instances("back", { count: 1, image: app.variant("light"), vcpu: 2, memoryGiB: 4 });
});
`;
}

interface Lock {
  lockfileVersion: number;
  catalog: string | string[];
  images: Record<string, Record<string, { digest: string; installedKiB: number; requested: { packages: string[] }; packages: { name: string; version: string; sha256?: string }[] }>>;
}

const COMMON_KIB = 180000 + 100 + 12010; // jdk, jdk-common, libc in the fixture

describe("images commands on the fixture catalog", () => {
  const dir = makeWorkdir("virtform-images-");
  writeProgram(dir, program(["httpd-a"]));
  const lockPath = join(dir, "virtform.lock");

  it("plan without a lock warns, naming the image, its variants and the command to run", async () => {
    const r = await runCli(dir, ["plan"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Warning: image.app: no virtform.lock: image.app (light, heavy) is not locked");
    expect(r.stderr).toContain("Run 'virtform images lock infra.ts'");
    expect(r.stdout).toContain("+ image.app will be created");
  });

  it("images lock writes virtform.lock beside the program with exact sets and digests", async () => {
    const r = await runCli(dir, ["images", "lock", "infra.ts", "--packages", fixture]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:heavy: locked 4 packages");
    expect(r.stdout).toContain("Wrote virtform.lock: 2 variants changed.");
    const lock = readJson<Lock>(lockPath);
    expect(lock.lockfileVersion).toBe(2);
    // Recorded relative to the lock, so a checkout elsewhere finds it again.
    expect(lock.catalog).toEqual([expect.stringMatching(/^\.\.\/.*test\/images\/fixtures\/Packages$/)]);
    const heavy = lock.images["image.app"]!.heavy!;
    expect(heavy.requested.packages).toEqual(["httpd-a", "jdk"]);
    expect(heavy.packages.map((p) => `${p.name} ${p.version}`)).toEqual(["httpd-a 1.0-1", "jdk 17.0.15+6-1~deb12u1", "jdk-common 17.0.15", "libc 2.36-9+deb12u1"]);
    expect(heavy.packages.every((p) => /^[0-9a-f]{64}$/.test(p.sha256 ?? ""))).toBe(true);
    expect(heavy.installedKiB).toBe(COMMON_KIB + 400);
    expect(heavy.digest).not.toBe(lock.images["image.app"]!.light!.digest);
    // A second run with nothing changed rewrites the same bytes.
    const before = readFileSync(lockPath, "utf8");
    const again = await runCli(dir, ["images", "lock", "--packages", fixture]);
    expect(again.stdout).toContain("Wrote virtform.lock: no changes.");
    expect(readFileSync(lockPath, "utf8")).toBe(before);
  });

  it("images resolve --json gives closures, layers, sizes and shared bytes", async () => {
    const r = await runCli(dir, ["images", "resolve", "--packages", fixture, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      images: Record<string, { variants: Record<string, { digest: string; layers: string[]; sizeBytes: number; packages: { name: string }[] }>; layers: Record<string, { packages: string[]; sizeBytes: number }>; sharedBytes: number; storedBytes: number }>;
    };
    const app = out.images["image.app"]!;
    expect(app.variants.light!.layers).toHaveLength(1);
    expect(app.variants.heavy!.layers).toEqual([app.variants.light!.layers[0], expect.stringMatching(/^sha256:/)]);
    expect(app.layers[app.variants.heavy!.layers[1]!]!.packages).toEqual(["httpd-a=1.0-1"]);
    expect(app.sharedBytes).toBe(COMMON_KIB * 1024);
    expect(app.storedBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(app.variants.heavy!.sizeBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(app.variants.heavy!.digest).toBe(readJson<Lock>(lockPath).images["image.app"]!.heavy!.digest);

    const one = await runCli(dir, ["images", "resolve", "--packages", fixture, "--variant", "heavy"]);
    expect(one.stdout).toContain("heavy  4 packages  188.0 MiB");
    expect(one.stdout).toContain("httpd-a 1.0-1 amd64 400.0 KiB");
    expect(one.stdout).not.toMatch(/^ {2}light /m);
    expect(one.stdout).toContain("shared between variants: 187.6 MiB");
  });

  it("images why shows the chain from the request to the package, from the lock", async () => {
    const r = await runCli(dir, ["images", "why", "libc", "--variant", "image.app:heavy"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("image.app:heavy:\n  httpd-a 1.0-1 (requested)\n  -> libc 2.36-9+deb12u1 (Depends: libc (>= 2.34) of httpd-a)\n");
    const absent = await runCli(dir, ["images", "why", "httpd-a", "--variant", "light"]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("httpd-a is in none of image.app:light");
  });

  it("images diff compares two variants package by package", async () => {
    const r = await runCli(dir, ["images", "diff", "image.app:light", "app:heavy"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:light -> image.app:heavy:\n  + httpd-a 1.0-1\n  1 added, 0 removed, 0 changed");
  });

  it("apply uses the locked digests; the registry reports layers and shared bytes; a second plan is empty", async () => {
    const r = await runCli(dir, ["apply", "--yes"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lock = readJson<Lock>(lockPath);
    const front = await runCli(dir, ["state", "show", "instances.web/front[0]", "--json"]);
    expect((JSON.parse(front.stdout) as { inputs: { image: { digest: string } } }).inputs.image.digest).toBe(lock.images["image.app"]!.heavy!.digest);
    const image = JSON.parse((await runCli(dir, ["state", "show", "image.app", "--json"])).stdout) as {
      outputs: { variants: Record<string, { digest: string; layers: string[]; sizeBytes: number; packages: string[] }>; layers: Record<string, unknown>; sharedBytes: number };
    };
    expect(image.outputs.sharedBytes).toBe(COMMON_KIB * 1024);
    expect(Object.keys(image.outputs.layers)).toHaveLength(2);
    expect(image.outputs.variants.heavy!.sizeBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(image.outputs.variants.heavy!.packages).toContain("httpd-a=1.0-1");
    const plan = await runCli(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("No changes.");
  });

  it("after a variant's packages change, plan warns the lock is stale and shows the package diff and the replaced instances", async () => {
    copyFileSync(lockPath, join(dir, "old.lock"));
    writeProgram(dir, program(["httpd-a", "pre-app", "jdk (<< 17.0.15)"]));
    const r = await runCli(dir, ["plan"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Warning: image\.app: virtform\.lock is stale for image\.app:heavy: its packages or base changed since it was locked; this plan uses a live resolution against .*Packages\. Run 'virtform images lock infra\.ts --packages .*test\/images\/fixtures\/Packages' to record it/);
    expect(r.stdout).toContain(
      [
        "      ~ locked.heavy.packages:",
        "          ~ jdk 17.0.15+6-1~deb12u1 -> 17.0.14+7-1~deb12u1",
        "          + libold-font 1:0.9-3",
        "          + pre-app 1.0",
        "          + shell-base 5.2-1",
      ].join("\n"),
    );
    expect(r.stdout).toMatch(/~ locked\.heavy\.digest: "sha256:[0-9a-f]{64}" -> "sha256:[0-9a-f]{64}"/);
    expect(r.stdout).toContain("# replaces instances.web/front[0..1]: their inputs follow this change");
    expect(r.stdout).toContain("-/+ instances.web/front[0] will be replaced");
    expect(r.stdout).toContain("# image.digest forces replacement");
    expect(r.stdout).not.toContain("instances.web/back[0] will be replaced");
    expect(r.stdout).toContain("Plan: 0 to create, 1 to update, 2 to replace, 0 to delete; 2 unchanged.");
  });

  it("images lock records the change, prints it, and diffing the two locks shows it; plan then warns no more", async () => {
    const r = await runCli(dir, ["images", "lock", "--packages", fixture]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:heavy: updated 7 packages");
    expect(r.stdout).toContain("      + pre-app 1.0");
    expect(r.stdout).toContain("image.app:light: unchanged");
    const diff = await runCli(dir, ["images", "diff", "old.lock", "virtform.lock"]);
    expect(diff.stdout).toContain("image.app:heavy:\n  ~ jdk 17.0.15+6-1~deb12u1 -> 17.0.14+7-1~deb12u1\n  + libold-font 1:0.9-3\n  + pre-app 1.0\n  + shell-base 5.2-1\n");
    expect(diff.stdout).not.toContain("image.app:light");
    const plan = await runCli(dir, ["plan"]);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain("+ libold-font 1:0.9-3");
    const apply = await runCli(dir, ["apply", "--yes"]);
    expect(apply.code).toBe(0);
    expect((await runCli(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("a config-only change keeps the locked packages and moves the digest, with a warning", async () => {
    writeProgram(dir, program(["httpd-a", "pre-app", "jdk (<< 17.0.15)"], 8192));
    const r = await runCli(dir, ["plan"]);
    expect(r.stderr).toContain("virtform.lock is stale for image.app:heavy: its config changed; the locked packages still apply");
    expect(r.stdout).toContain("~ variants.heavy.config.heapMiB: 4096 -> 8192");
    expect(r.stdout).toContain("~ locked.heavy.digest:");
    expect(r.stdout).not.toContain("~ locked.heavy.packages");
    expect(r.stdout).toContain("-/+ instances.web/front[1] will be replaced");
  });

  it("a stale lock whose catalog is gone falls back to the requested spec, and says so", async () => {
    const other = makeWorkdir("virtform-images-moved-");
    writeProgram(other, program(["httpd-a", "curl"]));
    // A lock made on another machine, from a Packages file this one does not have.
    const moved = readJson<Lock>(lockPath);
    writeFileSync(join(other, "virtform.lock"), JSON.stringify({ ...moved, catalog: ["mirror/Packages"] }));
    const r = await runCli(other, ["plan"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("virtform.lock is stale for image.app:heavy: its packages or base changed since it was locked, and the lock's Packages files are missing");
    expect(r.stderr).toContain(`the lock's Packages files are missing: ${join(other, "mirror", "Packages")}; its digest covers the requested packages only`);
    expect(r.stderr).toContain("Run 'virtform images lock infra.ts --packages mirror/Packages' where a package catalog is available");
    // light is still fresh, so it keeps its locked digest; heavy shows only the request.
    expect(r.stdout).toContain(`+ locked.light.digest = "${moved.images["image.app"]!.light!.digest}"`);
    expect(r.stdout).not.toContain("locked.heavy");
    expect(existsSync(join(other, "virtform.lock"))).toBe(true);
  });

  it("an unsatisfiable variant fails lock with the solver's explanation and leaves the lock alone", async () => {
    const before = readFileSync(lockPath, "utf8");
    writeProgram(dir, program(["legacy-tool", "jdk (>= 17.0.15)"]));
    const r = await runCli(dir, ["images", "lock", "--packages", fixture]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot resolve image.app:heavy against");
    expect(r.stderr).toContain("legacy-tool");
    expect(readFileSync(lockPath, "utf8")).toBe(before);
  });
});

describe.skipIf(systemPackageLists().length === 0)("images on the system apt lists", () => {
  it("locks the java-appserver variants against bookworm and explains a dependency", async () => {
    const dir = makeWorkdir("virtform-images-apt-");
    copyFileSync(join(repoRoot, "examples", "java-appserver", "infra.ts"), join(dir, "infra.ts"));
    const lock = await runCli(dir, ["images", "lock"]);
    expect(lock.code).toBe(0);
    const written = readJson<Lock>(join(dir, "virtform.lock"));
    expect(written.catalog).toBe("apt-lists");
    const heavy = written.images["image.appserver"]!.heavy!.packages.map((p) => p.name);
    const light = written.images["image.appserver"]!.light!.packages.map((p) => p.name);
    expect(heavy).toEqual(expect.arrayContaining(["openjdk-17-jre-headless", "tomcat10", "prometheus-node-exporter", "libc6"]));
    expect(light).not.toContain("prometheus-node-exporter");
    const why = await runCli(dir, ["images", "why", "libc6", "--variant", "heavy"]);
    expect(why.code).toBe(0);
    expect(why.stdout).toMatch(/^image\.appserver:heavy:\n {2}\S+ \S+ \(requested\)\n/);
    expect(why.stdout).toMatch(/-> libc6 \S+ \((Pre-)?Depends: libc6/);
    const diff = await runCli(dir, ["images", "diff", "image.appserver:light", "image.appserver:heavy"]);
    expect(diff.stdout).toMatch(/\+ prometheus-node-exporter \S+/);
    const resolve = JSON.parse((await runCli(dir, ["images", "resolve", "--json"])).stdout) as { images: Record<string, { sharedBytes: number }> };
    expect(resolve.images["image.appserver"]!.sharedBytes).toBeGreaterThan(100 * 1024 * 1024);
  });
});

describe("a secret in an image's config", () => {
  it("never reaches virtform.lock, which keeps a digest of the config", async () => {
    const dir = makeWorkdir("virtform-images-secret-");
    const source = (password: string) => `import { stack, secret } from "virtform";
export default stack("imgs", (s) => {
  s.image("app", { base: "debian-12", packages: ["jdk"], config: { dbPassword: secret("${password}") }, variants: { light: {} } });
});
`;
    writeProgram(dir, source("hunter2"));
    const locked = await runCli(dir, ["images", "lock", "infra.ts", "--packages", fixture]);
    expect(locked.code, locked.stderr).toBe(0);
    const text = readFileSync(join(dir, "virtform.lock"), "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("dbPassword");
    expect(text).toMatch(/"configDigest":"sha256:[0-9a-f]{64}"/);
    // The lock is fresh for this program: plan uses it without a warning.
    const plan = await runCli(dir, ["plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toBe("");
    // A new secret is a config change: the locked packages still answer, and the lock says so.
    writeProgram(dir, source("hunter3"));
    const relocked = await runCli(dir, ["images", "lock", "--packages", fixture]);
    expect(relocked.code, relocked.stderr).toBe(0);
    expect(readFileSync(join(dir, "virtform.lock"), "utf8")).not.toMatch(/hunter[23]/);
  });
});
