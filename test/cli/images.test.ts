// `virtform images ...` and locks in plan/apply, end to end through the real binary, or in process
// (test/helpers/in-process.ts) where no source line is checked: a program loaded inside vitest
// reports lines of its transformed text. Programs run in temp dirs and resolve against the fixture
// catalog (--packages), so no apt lists are needed (runCli points the apt lists at a stand-in); one
// suite uses the system's apt lists where they exist.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, readJson, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

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
  images: Record<string, Record<string, { digest: string; installedKiB: number; requested: { packages: string[] }; packages: { name: string; version: string; sha256?: string; base?: true }[] }>>;
}

const BASE_KIB = 12010 + 900; // libc (Priority: required) and shell-base (Essential: yes): the fixture's base
const COMMON_KIB = BASE_KIB + 180000 + 100; // and jdk, jdk-common

describe("images commands on the fixture catalog", () => {
  const dir = makeWorkdir("virtform-images-");
  writeProgram(dir, program(["httpd-a"]));
  const lockPath = join(dir, "virtform.lock");

  it("plan without a lock resolves live against the catalog and warns, naming the image, its variants and the command to run", async () => {
    const r = await runCli(dir, ["plan", "--packages", fixture]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Warning: infra.ts:3: image.app: no virtform.lock: image.app (light, heavy) is not locked; this plan uses a live resolution against");
    expect(r.stderr).toContain(`Run 'virtform images lock infra.ts --packages ${fixture}' to lock it`);
    expect(r.stdout).toContain("+ image.app will be created");
    expect(r.stdout).toContain('+ locked.heavy.packages.httpd-a = "1.0-1"');
    expect(r.stdout).toContain('+ locked.heavy.base.shell-base = "5.2-1"');
  });

  it("a lock or a package index that cannot be read is the user's to fix, not a bug; images lock replaces a malformed lock", async () => {
    const bad = makeWorkdir("virtform-images-bad-");
    writeProgram(bad, program(["httpd-a"]));
    const badLock = join(bad, "virtform.lock");
    writeFileSync(badLock, "<<<<<<< HEAD\n");
    const plan = await runInProcess(bad, ["plan", "--packages", fixture]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(new RegExp(`^Error: ${badLock} is not valid JSON \\([\\s\\S]*\\); regenerate it with 'virtform images lock'\n$`));
    const directory = await runInProcess(bad, ["images", "resolve", "--packages", bad]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toBe(`Error: cannot read the package index ${bad}: EISDIR: illegal operation on a directory, read\n`);
    const relocked = await runInProcess(bad, ["images", "lock", "--packages", fixture]);
    expect(relocked.code, relocked.stderr).toBe(0);
    expect(relocked.stderr).toMatch(new RegExp(`^Warning: ${badLock} is not valid JSON \\([\\s\\S]*\\): writing a new lock, every variant resolved again\\.\n$`));
    expect(Object.keys(readJson<Lock>(badLock).images["image.app"]!).sort()).toEqual(["heavy", "light"]);

    // A lock a newer virtform wrote, or a directory in its place, is refused by images lock too, and kept.
    const newer = '{ "lockfileVersion": 9, "catalog": "apt-lists", "images": {}, "later": true }\n';
    writeFileSync(badLock, newer);
    const refused = await runInProcess(bad, ["images", "lock", "--packages", fixture]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`Error: ${badLock} is a lock of version 9, written by a newer virtform (this one reads versions 1 to 3); upgrade virtform to use it\n`);
    expect(readFileSync(badLock, "utf8")).toBe(newer);
    rmSync(badLock);
    mkdirSync(badLock);
    const directory2 = await runInProcess(bad, ["images", "lock", "--packages", fixture]);
    expect(directory2.code).toBe(1);
    expect(directory2.stderr).toBe(`Error: ${badLock} cannot be read (EISDIR: illegal operation on a directory, read)\n`);
  });

  it("images lock writes virtform.lock beside the program with exact sets and digests", async () => {
    const r = await runInProcess(dir, ["images", "lock", "infra.ts", "--packages", fixture]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:heavy: locked 5 packages");
    expect(r.stdout).toContain("Wrote virtform.lock: 2 variants changed.");
    const lock = readJson<Lock>(lockPath);
    expect(lock.lockfileVersion).toBe(3);
    // Recorded relative to the lock, so a checkout elsewhere finds it again.
    expect(lock.catalog).toEqual([expect.stringMatching(/^\.\.\/.*test\/images\/fixtures\/Packages$/)]);
    const heavy = lock.images["image.app"]!.heavy!;
    expect(heavy.requested.packages).toEqual(["httpd-a", "jdk"]);
    expect(heavy.packages.map((p) => `${p.name} ${p.version}${p.base ? " (base)" : ""}`)).toEqual([
      "httpd-a 1.0-1",
      "jdk 17.0.15+6-1~deb12u1",
      "jdk-common 17.0.15",
      "libc 2.36-9+deb12u1 (base)",
      "shell-base 5.2-1 (base)",
    ]);
    expect(heavy.packages.every((p) => /^[0-9a-f]{64}$/.test(p.sha256 ?? ""))).toBe(true);
    expect(heavy.installedKiB).toBe(COMMON_KIB + 400);
    expect(heavy.digest).not.toBe(lock.images["image.app"]!.light!.digest);
    // A second run with nothing changed rewrites the same bytes.
    const before = readFileSync(lockPath, "utf8");
    const again = await runInProcess(dir, ["images", "lock", "--packages", fixture]);
    expect(again.stdout).toContain("Wrote virtform.lock: no changes.");
    expect(readFileSync(lockPath, "utf8")).toBe(before);
  });

  it("a lock written before the base layer (version 2) is outdated: plan resolves its variants again, and images lock rewrites it", async () => {
    const old = makeWorkdir("virtform-images-v2-");
    writeProgram(old, program(["httpd-a"]));
    // As virtform wrote it before the base was modelled: shell-base (essential, needed by nothing here) absent.
    const current = readJson<Lock>(lockPath);
    const heavy = current.images["image.app"]!.heavy!;
    const v2Heavy = {
      ...heavy,
      digest: `sha256:${"0".repeat(64)}`, // its digest was over that smaller set
      packages: heavy.packages.filter((p) => p.name !== "shell-base").map(({ base: _base, ...p }) => p),
    };
    writeFileSync(join(old, "virtform.lock"), JSON.stringify({ ...current, lockfileVersion: 2, images: { "image.app": { ...current.images["image.app"], heavy: v2Heavy } } }));
    const r = await runInProcess(old, ["plan"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("virtform.lock is stale for image.app:heavy: it was locked by lockfile version 2, whose sets lack the base's packages; this plan uses a live resolution against");
    const relocked = await runInProcess(old, ["images", "lock", "--packages", fixture]);
    expect(relocked.stdout).toContain("image.app:heavy: updated 5 packages");
    expect(relocked.stdout).toContain("      + shell-base 5.2-1");
    expect(readJson<Lock>(join(old, "virtform.lock")).lockfileVersion).toBe(3);
  });

  it("images resolve --json gives closures, layers, sizes and shared bytes", async () => {
    const r = await runInProcess(dir, ["images", "resolve", "--packages", fixture, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      images: Record<string, { variants: Record<string, { digest: string; layers: string[]; baseLayer?: string; sizeBytes: number; packages: { name: string }[] }>; layers: Record<string, { packages: string[]; sizeBytes: number }>; sharedBytes: number; storedBytes: number }>;
    };
    const app = out.images["image.app"]!;
    // The base's packages first, then what both variants share, then heavy's own.
    expect(app.variants.light!.layers).toHaveLength(2);
    expect(app.layers[app.variants.light!.layers[0]!]!.packages).toEqual(["libc=2.36-9+deb12u1", "shell-base=5.2-1"]);
    expect(app.variants.light!.baseLayer).toBe(app.variants.light!.layers[0]);
    expect(app.variants.heavy!.layers).toEqual([...app.variants.light!.layers, expect.stringMatching(/^sha256:/)]);
    expect(app.layers[app.variants.heavy!.layers[2]!]!.packages).toEqual(["httpd-a=1.0-1"]);
    expect(app.sharedBytes).toBe(COMMON_KIB * 1024);
    expect(app.storedBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(app.variants.heavy!.sizeBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(app.variants.heavy!.digest).toBe(readJson<Lock>(lockPath).images["image.app"]!.heavy!.digest);

    const one = await runInProcess(dir, ["images", "resolve", "--packages", fixture, "--variant", "heavy"]);
    expect(one.stdout).toContain("heavy  5 packages  188.9 MiB");
    expect(one.stdout).toContain("httpd-a 1.0-1 amd64 400.0 KiB");
    expect(one.stdout).toMatch(/layers: base sha256:[0-9a-f]{12} \(2 packages, 12\.6 MiB\) \+ sha256:/);
    expect(one.stdout).not.toMatch(/^ {2}light /m);
    expect(one.stdout).toContain("shared between variants: 188.5 MiB");
  });

  it("images why shows the chain from the request to the package, from the lock", async () => {
    const r = await runInProcess(dir, ["images", "why", "jdk-common", "--variant", "image.app:heavy"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("image.app:heavy:\n  jdk 17.0.15+6-1~deb12u1 (requested)\n  -> jdk-common 17.0.15 (Depends: jdk-common (>= 17.0.15) of jdk)\n");
    const base = await runInProcess(dir, ["images", "why", "libc", "--variant", "heavy"]);
    expect(base.stdout).toBe("image.app:heavy:\n  libc 2.36-9+deb12u1 (base debian-12)\n");
    const absent = await runInProcess(dir, ["images", "why", "httpd-a", "--variant", "light"]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("httpd-a is in none of image.app:light");
  });

  it("images diff compares two variants package by package, named as --variant names them", async () => {
    const r = await runInProcess(dir, ["images", "diff", "light", "app:heavy"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:light -> image.app:heavy:\n  + httpd-a 1.0-1\n  1 added, 0 removed, 0 changed");
  });

  it("apply uses the locked digests; the registry reports layers and shared bytes; a second plan is empty", async () => {
    const r = await runInProcess(dir, ["apply", "--yes"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lock = readJson<Lock>(lockPath);
    const front = await runCli(dir, ["state", "show", "instances.web/front[0]", "--json"]);
    expect((JSON.parse(front.stdout) as { inputs: { image: { digest: string } } }).inputs.image.digest).toBe(lock.images["image.app"]!.heavy!.digest);
    const image = JSON.parse((await runInProcess(dir, ["state", "show", "image.app", "--json"])).stdout) as {
      outputs: { variants: Record<string, { digest: string; layers: string[]; sizeBytes: number; packages: string[] }>; layers: Record<string, unknown>; sharedBytes: number };
    };
    expect(image.outputs.sharedBytes).toBe(COMMON_KIB * 1024);
    expect(Object.keys(image.outputs.layers)).toHaveLength(3);
    expect(image.outputs.variants.heavy!.layers).toHaveLength(3);
    expect(image.outputs.variants.heavy!.packages).toContain("shell-base=5.2-1");
    expect(image.outputs.variants.heavy!.sizeBytes).toBe((COMMON_KIB + 400) * 1024);
    expect(image.outputs.variants.heavy!.packages).toContain("httpd-a=1.0-1");
    const plan = await runInProcess(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("No changes.");
  });

  it("after a variant's packages change, plan warns the lock is stale and shows the package diff and the replaced instances", async () => {
    copyFileSync(lockPath, join(dir, "old.lock"));
    writeProgram(dir, program(["httpd-a", "pre-app", "jdk (<< 17.0.15)"]));
    const r = await runCli(dir, ["plan"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Warning: infra\.ts:3: image\.app: virtform\.lock is stale for image\.app:heavy: its packages or base changed since it was locked; this plan uses a live resolution against .*Packages\. Run 'virtform images lock infra\.ts --packages .*test\/images\/fixtures\/Packages' to record it/);
    expect(r.stdout).toContain(
      [
        "      ~ locked.heavy.packages:",
        "          ~ jdk 17.0.15+6-1~deb12u1 -> 17.0.14+7-1~deb12u1",
        "          + libold-font 1:0.9-3",
        "          + pre-app 1.0",
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
    const r = await runInProcess(dir, ["images", "lock", "--packages", fixture]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("image.app:heavy: updated 7 packages");
    expect(r.stdout).toContain("      + pre-app 1.0");
    expect(r.stdout).toContain("image.app:light: unchanged");
    const diff = await runInProcess(dir, ["images", "diff", "old.lock", "virtform.lock"]);
    expect(diff.stdout).toContain("image.app:heavy:\n  ~ jdk 17.0.15+6-1~deb12u1 -> 17.0.14+7-1~deb12u1\n  + libold-font 1:0.9-3\n  + pre-app 1.0\n  2 added, 0 removed, 1 changed");
    expect(diff.stdout).not.toContain("image.app:light");
    // pre-app Pre-Depends on shell-base, which is the base's (Essential: yes): every variant has it.
    const variants = await runInProcess(dir, ["images", "diff", "light", "heavy"]);
    expect(variants.stdout).toContain("image.app:light -> image.app:heavy:\n  + httpd-a 1.0-1\n  ~ jdk");
    expect(variants.stdout).not.toContain("shell-base");
    const plan = await runInProcess(dir, ["plan"]);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain("+ libold-font 1:0.9-3");
    const apply = await runInProcess(dir, ["apply", "--yes"]);
    expect(apply.code).toBe(0);
    expect((await runCli(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("a config-only change keeps the locked packages and moves the digest, with a warning", async () => {
    writeProgram(dir, program(["httpd-a", "pre-app", "jdk (<< 17.0.15)"], 8192));
    const r = await runInProcess(dir, ["plan"]);
    expect(r.stderr).toContain("virtform.lock is stale for image.app:heavy: its config or contents changed; the locked packages still apply");
    expect(r.stdout).toContain("~ variants.heavy.config.heapMiB: 4096 -> 8192");
    expect(r.stdout).toContain("~ locked.heavy.digest:");
    expect(r.stdout).not.toContain("~ locked.heavy.packages");
    expect(r.stdout).toContain("-/+ instances.web/front[1] will be replaced");
  });

  it("a stale lock whose catalog is gone refuses to plan, or with --allow-unlocked falls back to the requested spec, and says so", async () => {
    const other = makeWorkdir("virtform-images-moved-");
    writeProgram(other, program(["httpd-a", "curl"]));
    // A lock made on another machine, from a Packages file this one does not have.
    const moved = readJson<Lock>(lockPath);
    writeFileSync(join(other, "virtform.lock"), JSON.stringify({ ...moved, catalog: ["mirror/Packages"] }));
    const refused = await runCli(other, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "  infra.ts:3: image.app: variants.heavy: virtform.lock is stale for image.app:heavy: its packages or base changed since it was locked, and the lock's Packages files are missing",
    );
    expect(refused.stderr).toContain("pass --packages FILE, or plan the requested packages alone with --allow-unlocked");
    const r = await runCli(other, ["plan", "--allow-unlocked"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("virtform.lock is stale for image.app:heavy: its packages or base changed since it was locked, and the lock's Packages files are missing");
    expect(r.stderr).toContain(`the lock's Packages files are missing: ${join(other, "mirror", "Packages")}; its digests cover the requested packages only (--allow-unlocked)`);
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
    // plan says the same at the image's line, the solver's explanation indented under it.
    const plan = await runCli(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/^Error: program infra\.ts has 1 error\n {2}infra\.ts:3: image\.app: variants\.heavy: cannot resolve image\.app:heavy against \S*Packages:\n {4}legacy-tool 1\.0 Depends: jdk \(<< 17\.0\.15\) cannot be satisfied\n {6}- /m);
  });
});

describe("image variants that cannot be resolved, and bases that are not known", () => {
  const dir = makeWorkdir("virtform-images-bad-");
  const source = (base: string) => `import { stack } from "virtform";
export default stack("mail", (s) => {
  s.image("mail", {
    base: "${base}",
    packages: ["libc"],
    variants: { ok: {}, missing: { packages: ["no-such-package-xyz"] }, clash: { packages: ["conf-a", "conf-b"] } },
  });
});
`;
  writeProgram(dir, source("debian-12"));

  it("without a lock, plan and apply resolve every variant live and refuse, naming the line, each variant and the solver's reason", async () => {
    for (const command of [["plan"], ["apply", "--yes"]]) {
      const r = await runCli(dir, [...command, "--packages", fixture]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Error: program infra.ts has 2 errors\n");
      expect(r.stderr).toContain(
        `  infra.ts:3: image.mail: variants.missing: cannot resolve image.mail:missing against ${fixture}:\n    cannot install requested no-such-package-xyz\n      - no package named no-such-package-xyz in the catalog\n`,
      );
      expect(r.stderr).toContain(`  infra.ts:3: image.mail: variants.clash: cannot resolve image.mail:clash against ${fixture}:\n    conf-a 1.0 Conflicts: conf-b, which is also to be installed\n`);
      expect(r.stdout).not.toContain("created");
    }
  });

  it("with no catalog reachable, plan says so and refuses unless --allow-unlocked", async () => {
    const noLists = { VIRTFORM_APT_LISTS: join(dir, "no-apt-lists") };
    const r = await runCli(dir, ["plan"], noLists);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("  infra.ts:3: image.mail: variants: no virtform.lock: image.mail (ok, missing, clash) is not locked, and no package catalog: the system has no apt lists");
    expect(r.stderr).toContain("or plan the requested packages alone with --allow-unlocked");
    const allowed = await runCli(dir, ["plan", "--allow-unlocked"], noLists);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain("its digests cover the requested packages only (--allow-unlocked)");
    expect(allowed.stdout).toContain("+ image.mail will be created");
    // A catalog named on the command line must be there, --allow-unlocked or not.
    const missing = await runCli(dir, ["plan", "--allow-unlocked", "--packages", "mirror/Packages"], noLists);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`Error: Packages file not found: ${join(dir, "mirror", "Packages")}\n`);
  });

  it("images lock and images resolve report every failing variant at the image's line, and write no lock", async () => {
    for (const command of ["lock", "resolve"]) {
      const r = await runCli(dir, ["images", command, "--packages", fixture]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Error: 2 image variants cannot be resolved\n");
      expect(r.stderr).toContain("  infra.ts:3: image.mail: variants.missing: cannot resolve image.mail:missing");
      expect(r.stderr).toContain("  infra.ts:3: image.mail: variants.clash: cannot resolve image.mail:clash");
    }
    expect(existsSync(join(dir, "virtform.lock"))).toBe(false);
  });

  it("a base that is not a known release is an error at the image's line, listing the known ones", async () => {
    writeProgram(dir, source("ubuntu-24"));
    const r = await runCli(dir, ["images", "resolve", "--packages", fixture]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: program infra.ts has 1 error\n  infra.ts:3: image.mail: base: unknown base "ubuntu-24"; known: debian-12\n');
  });

  it("images diff refuses a short variant name that more than one image has, naming them", async () => {
    writeProgram(
      dir,
      `import { stack } from "virtform";
export default stack("two", (s) => {
  s.image("a", { base: "debian-12", variants: { ok: {} } });
  s.image("b", { base: "debian-12", variants: { ok: {}, other: {} } });
});
`,
    );
    const r = await runInProcess(dir, ["images", "diff", "ok", "b:other", "--packages", fixture]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: ok names more than one variant (image.a:ok, image.b:ok); name the image too, like image.a:ok\n");
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
    const locked = await runInProcess(dir, ["images", "lock", "infra.ts", "--packages", fixture]);
    expect(locked.code, locked.stderr).toBe(0);
    const text = readFileSync(join(dir, "virtform.lock"), "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("dbPassword");
    expect(text).toMatch(/"configDigest":"sha256:[0-9a-f]{64}"/);
    // The lock is fresh for this program: plan uses it without a warning.
    const plan = await runInProcess(dir, ["plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toBe("");
    // A new secret is a config change: the locked packages still answer, and the lock says so.
    writeProgram(dir, source("hunter3"));
    const relocked = await runInProcess(dir, ["images", "lock", "--packages", fixture]);
    expect(relocked.code, relocked.stderr).toBe(0);
    expect(readFileSync(join(dir, "virtform.lock"), "utf8")).not.toMatch(/hunter[23]/);
  });
});
