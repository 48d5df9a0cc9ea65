// Runs apt's own solver as the reference: `apt-get -s` against an empty status file, and against a
// copy of apt's lists taken once (`snapshotAptLists`), so an `apt-get update` elsewhere during a run
// cannot change the answer halfway.

import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface AptInst {
  name: string;
  version: string;
  architecture: string;
}

export interface AptSimulation {
  ok: boolean;
  installs: AptInst[];
  /** apt-get's output, kept for failure messages. */
  output: string;
}

// Container images often disable apt's binary cache (docker-clean), which makes every apt-get
// rebuild it from the lists (~2 s). A private cache file changes nothing in the result.
function cacheArgs(): string[] {
  const dir = listsDir ?? join(tmpdir(), `virtform-apt-cache-${process.getuid?.() ?? "user"}`);
  mkdirSync(dir, { recursive: true });
  return ["-o", `Dir::Cache::pkgcache=${join(dir, "pkgcache.bin")}`, "-o", `Dir::Cache::srcpkgcache=${join(dir, "srcpkgcache.bin")}`];
}

let listsDir: string | undefined;

/** Copies apt's lists (Packages and Release files) to a directory of this run's; apt and our catalog read the copy. */
export function snapshotAptLists(from = "/var/lib/apt/lists"): string {
  const dir = mkdtempSync(join(tmpdir(), "virtform-apt-lists-"));
  for (const f of readdirSync(from)) if (f !== "lock" && f !== "partial" && f !== "auxfiles") cpSync(join(from, f), join(dir, f));
  mkdirSync(join(dir, "partial"));
  listsDir = dir;
  return dir;
}

export function aptGetArgs(packages: string[]): string[] {
  return [
    ...cacheArgs(),
    ...(listsDir ? ["-o", `Dir::State::Lists=${listsDir}`] : []),
    "-s",
    "-o",
    "Dir::State::status=/dev/null",
    "-o",
    "APT::Install-Recommends=false",
    "-o",
    "APT::Install-Suggests=false",
    "install",
    ...packages,
  ];
}

/** Parses `Inst name (version release [arch])` lines of `apt-get -s`. */
export function parseInstLines(output: string): AptInst[] {
  const out: AptInst[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("Inst ")) continue;
    const open = line.indexOf(" (");
    if (open < 0) continue;
    const name = line.slice(5, open).replace(/:.*$/, "");
    const inner = line.slice(open + 2);
    const version = inner.slice(0, inner.indexOf(" "));
    // `Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []`: the arch is inside the parentheses.
    const close = inner.indexOf(")");
    const lb = inner.lastIndexOf("[", close);
    const architecture = lb >= 0 ? inner.slice(lb + 1, inner.indexOf("]", lb)) : "";
    out.push({ name, version, architecture });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `apt-get -s install PKGS` with nothing installed; synchronous. */
export function aptSimulateInstall(packages: string[]): AptSimulation {
  const r = spawnSync("apt-get", aptGetArgs(packages), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LANG: "C", LC_ALL: "C" } });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  return { ok: r.status === 0, installs: parseInstLines(r.stdout ?? ""), output };
}

/** Asynchronous variant, so several simulations can run side by side. */
export function aptSimulateInstallAsync(packages: string[]): Promise<AptSimulation> {
  return new Promise((resolve) => {
    execFile(
      "apt-get",
      aptGetArgs(packages),
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LANG: "C", LC_ALL: "C" } },
      (err, stdout, stderr) => {
        resolve({ ok: err === null, installs: parseInstLines(stdout), output: `${stdout}${stderr}` });
      },
    );
  });
}
