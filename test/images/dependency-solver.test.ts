import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PackageCatalog, parsePackagesText } from "../../images/package-catalog.ts";
import { why } from "../../images/package-reason.ts";
import { resolve, type PackageRequest, type ResolveResult } from "../../images/dependency-solver.ts";

const fixture = fileURLToPath(new URL("./fixtures/Packages", import.meta.url));
const catalog = new PackageCatalog({ architectures: ["amd64"] });
catalog.addIndex(readFileSync(fixture, "utf8"), fixture);

function closure(requests: PackageRequest[]): Record<string, string> {
  const r = resolve(catalog, requests);
  if (!r.ok) throw new Error(`expected a resolution, got:\n${r.explanation}`);
  return Object.fromEntries(r.packages.map((p) => [p.name, p.version]));
}

function failure(requests: PackageRequest[]): string {
  const r: ResolveResult = resolve(catalog, requests);
  if (r.ok) throw new Error(`expected a failure, got ${r.packages.map((p) => p.name).join(" ")}`);
  return r.explanation;
}

describe("catalog fixture", () => {
  it("keeps amd64 and all records only, all versions, highest version as candidate", () => {
    expect(catalog.versions("libc").map((r) => `${r.version}/${r.architecture}`)).toEqual(["2.36-9+deb12u1/amd64", "2.36-9/amd64"]);
    expect(catalog.candidate("jdk")?.version).toBe("17.0.15+6-1~deb12u1");
    expect(catalog.candidate("libz")?.version).toBe("1:2.0-1");
    expect(catalog.providers("httpd").map((p) => p.record.name).sort()).toEqual(["httpd-a", "httpd-b"]);
    expect(catalog.isVirtual("mail-transport-agent")).toBe(true);
    const jdk = catalog.candidate("jdk")!;
    expect(jdk).toMatchObject({ multiArch: "same", installedSize: 180000, size: 44000000, priority: "optional" });
    expect(jdk.sha256).toMatch(/^10+/);
    expect(catalog.candidate("shell-base")?.essential).toBe(true);
  });

  it("parses continuation lines and CRLF", () => {
    const recs = parsePackagesText("Package: a\r\nVersion: 1\r\nDepends: b,\r\n c (>= 2)\r\nInstalled-Size: 7\r\n\r\nPackage: d\nVersion: 2\n", "inline");
    expect(recs.map((r) => [r.name, r.version, r.depends ?? null, r.installedSize])).toEqual([
      ["a", "1", "b, c (>= 2)", 7],
      ["d", "2", null, 0],
    ]);
  });
});

describe("resolve on the fixture", () => {
  it("takes the first installable alternative", () => {
    expect(closure([{ name: "web" }])).toEqual({ web: "1.0", "httpd-a": "1.0-1", libc: "2.36-9+deb12u1" });
  });

  it("skips an alternative whose own dependencies cannot be met", () => {
    expect(closure([{ name: "web2" }])).toEqual({ web2: "1.0", "httpd-b": "2.0-1", libc: "2.36-9+deb12u1" });
  });

  it("satisfies a virtual package through its provider", () => {
    expect(closure([{ name: "mailer" }])).toEqual({ mailer: "1.0", "mta-one": "4.96-15", libc: "2.36-9+deb12u1" });
  });

  it("orders several providers by priority, as apt does", () => {
    expect(closure([{ name: "logging-app" }])).toEqual({ "logging-app": "1.0", "logger-a": "1.0" });
  });

  it("selects the sole provider when a virtual name is requested", () => {
    const r = resolve(catalog, [{ name: "mail-transport-agent" }]);
    expect(r.ok && r.packages.find((p) => p.name === "mta-one")?.reason).toEqual({ kind: "requested", via: "mail-transport-agent" });
  });

  it("uses versioned provides for versioned dependencies", () => {
    expect(closure([{ name: "needs-api" }])).toEqual({ "needs-api": "1.0", "api-new": "3.0" });
  });

  it("explains a versioned virtual dependency nothing satisfies", () => {
    expect(failure([{ name: "needs-api-99" }])).toBe(
      [
        "needs-api-99 1.0 Depends: api (>= 99) cannot be satisfied",
        "  - api-old 1.0 provides api 1.0, which does not satisfy >= 99",
        "  - api-plain 9.0 provides api without a version, which cannot satisfy >= 99",
        "  - api-new 3.0 provides api 2.5, which does not satisfy >= 99",
      ].join("\n"),
    );
  });

  it("refuses two requested packages that conflict", () => {
    expect(failure([{ name: "conf-a" }, { name: "conf-b" }])).toBe(
      ["conf-a 1.0 Conflicts: conf-b, which is also to be installed", "  - conf-b 1.0 is requested too"].join("\n"),
    );
  });

  it("steers an alternative away from a conflicting package", () => {
    expect(closure([{ name: "conf-a" }, { name: "conf-user" }])).toEqual({ "conf-a": "1.0", "conf-user": "1.0", "conf-c": "1.0" });
  });

  it("honours Breaks: the candidate passes, a forced old version fails", () => {
    expect(closure([{ name: "brk-lib" }, { name: "brk-plugin" }])).toEqual({ "brk-lib": "2.0", "brk-plugin": "2.1" });
    expect(failure([{ name: "brk-lib" }, { name: "brk-plugin", constraint: "= 1.0" }])).toBe(
      ["brk-lib 2.0 Breaks: brk-plugin (<< 2.0), which is also to be installed", "  - brk-plugin 1.0 is requested too"].join("\n"),
    );
  });

  it("lets a request constraint force an older version, with that version's dependencies", () => {
    expect(closure([{ name: "jdk" }])).toEqual({ jdk: "17.0.15+6-1~deb12u1", "jdk-common": "17.0.15", libc: "2.36-9+deb12u1" });
    expect(closure([{ name: "jdk", constraint: "<< 17.0.15" }])).toEqual({
      jdk: "17.0.14+7-1~deb12u1",
      "jdk-common": "17.0.15",
      libc: "2.36-9+deb12u1",
      "libold-font": "1:0.9-3",
    });
    // `~` sorts before the release: the rc is older than 17.0.14.
    expect(closure([{ name: "jdk", constraint: "<< 17.0.14" }])).toMatchObject({ jdk: "17.0.14~rc1-1" });
  });

  it("picks an older version when a dependency demands one (where apt would give up)", () => {
    expect(closure([{ name: "legacy-tool" }])).toMatchObject({ "legacy-tool": "1.0", jdk: "17.0.14+7-1~deb12u1", "libold-font": "1:0.9-3" });
  });

  it("explains an unsatisfiable chain down to each ruled-out version", () => {
    expect(failure([{ name: "top-app" }])).toBe(
      [
        "mid-lib 1.0 Depends: libz (>= 1:3) cannot be satisfied",
        "  needed by: top-app 1.0 -> mid-lib 1.0",
        "  - libz 1:2.0-1 does not satisfy >= 1:3",
        "  - libz 2.0-1 does not satisfy >= 1:3",
      ].join("\n"),
    );
  });

  it("explains missing packages and impossible constraints on requests", () => {
    expect(failure([{ name: "nope" }])).toBe("cannot install requested nope\n  - no package named nope in the catalog");
    expect(failure([{ name: "jdk", constraint: ">= 18" }])).toBe(
      [
        "cannot install requested jdk (>= 18)",
        "  - jdk 17.0.15+6-1~deb12u1 does not satisfy >= 18",
        "  - jdk 17.0.14+7-1~deb12u1 does not satisfy >= 18",
        "  - jdk 17.0.14~rc1-1 does not satisfy >= 18",
      ].join("\n"),
    );
  });

  it("handles :any, :native and [arch] qualifiers", () => {
    expect(closure([{ name: "py-tool" }])).toEqual({ "py-tool": "1.0", "py-interp": "3.11.2-1", libc: "2.36-9+deb12u1" });
    // libc is Multi-Arch: same, so `libc:any` cannot be satisfied.
    expect(failure([{ name: "bad-any" }])).toBe(
      [
        "bad-any 1.0 Depends: libc:any cannot be satisfied",
        "  - libc 2.36-9+deb12u1 (Multi-Arch: same) cannot satisfy libc:any",
        "  - libc 2.36-9 (Multi-Arch: same) cannot satisfy libc:any",
      ].join("\n"),
    );
    // A dependency restricted to [arm64] does not apply on amd64.
    expect(closure([{ name: "arm-only-dep" }])).toEqual({ "arm-only-dep": "1.0", libc: "2.36-9+deb12u1" });
  });

  it("follows Pre-Depends and pulls Essential packages only when something depends on them", () => {
    expect(closure([{ name: "pre-app" }])).toEqual({ "pre-app": "1.0", "shell-base": "5.2-1", libc: "2.36-9+deb12u1" });
    expect(closure([{ name: "web" }])).not.toHaveProperty("shell-base");
  });

  it("records why each package is there", () => {
    const r = resolve(catalog, [{ name: "pre-app" }]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packages.find((p) => p.name === "shell-base")?.reason).toEqual({
      kind: "dependency",
      parent: "pre-app",
      field: "Pre-Depends",
      relation: "shell-base",
    });
    expect(why(r.packages, "libc")).toEqual(["pre-app 1.0 (requested)", "libc 2.36-9+deb12u1 (Depends: libc of pre-app)"]);
    expect(why(r.packages, "not-there")).toBeUndefined();
    expect(r.installedSizeKiB).toBe(10 + 900 + 12010);
    expect(r.downloadBytes).toBe(2000 + 300000 + 2800100);
    expect(r.packages.every((p) => /^[0-9a-f]{64}$/.test(p.sha256 ?? ""))).toBe(true);
  });

  it("is deterministic", () => {
    const a = resolve(catalog, [{ name: "web" }, { name: "mailer" }, { name: "logging-app" }]);
    const b = resolve(catalog, [{ name: "web" }, { name: "mailer" }, { name: "logging-app" }]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
