// `virtform images build` and `boot-test` refusing what they cannot build, before any tool runs:
// no lock, a lock from Packages files (a build installs from the mirror), a variant not built yet.
// The builds themselves need root and the mirror: test/integration/images-build.test.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";

const fixture = join(repoRoot, "test", "images", "fixtures", "Packages");

describe("images build refuses what it cannot build", () => {
  const dir = makeWorkdir("virtform-imgbuild-cli-");
  writeProgram(
    dir,
    `import { stack } from "virtform";
export default stack("imgs", (s) => {
  s.image("app", { base: "debian-12", packages: ["jdk"], variants: { light: {} } });
});
`,
  );

  it("without a lock: names the command to run", async () => {
    const r = await runCli(dir, ["images", "build", "--cache", join(dir, "cache")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: no \S+virtform\.lock: run 'virtform images lock' first \(a build installs exactly the locked packages\)\n$/);
  });

  it("with a lock made from Packages files: asks for one from the system's apt sources; boot-test of an unbuilt variant says to build it", async () => {
    expect((await runCli(dir, ["images", "lock", "--packages", fixture])).code).toBe(0);
    const r = await runCli(dir, ["images", "build", "--cache", join(dir, "cache")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("was resolved against Packages files");
    expect(r.stderr).toContain("a build installs from the mirror of the system's apt sources");
    // The same lock as if made from the apt lists: boot-test finds no built layer in an empty cache.
    const lockPath = join(dir, "virtform.lock");
    writeFileSync(lockPath, readFileSync(lockPath, "utf8").replace(/"catalog": \[[^\]]*\]/, '"catalog": "apt-lists"'));
    const boot = await runCli(dir, ["images", "boot-test", "light", "--cache", join(dir, "cache")]);
    expect(boot.code).toBe(1);
    expect(boot.stderr).toMatch(/^Error: image\.app:light is not built \(no layer sha256:[0-9a-f]{12} in \S+\); run 'virtform images build --variant light --cache \S+' first\n$/);
  });
});
