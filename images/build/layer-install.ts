// Installs exactly a layer's added packages into its mounted file system (on top of its parent's):
// the locked .deb files, fetched once into the build's .deb cache and checked against the lock's
// sha256, are handed to the image's own apt (`apt-get install ./x.deb ...` in a chroot), which
// orders them and runs their maintainer scripts; with every dependency already installed below or
// among the files, apt has nothing to choose and nothing to download. As mmdebstrap does: /proc,
// /sys and /dev are mounted in, services are kept from starting (policy-rc.d), dpkg skips fsync,
// and the logs, caches and machine id that would differ between two builds are removed afterwards.
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LockedPackage } from "../lockfile.ts";
import { mountInside, unmount, type MountedLayer } from "./overlay-mount.ts";
import { explainFailure } from "./mmdebstrap.ts";
import { runTool } from "./tools.ts";

export type DebPackage = Pick<LockedPackage, "name" | "version" | "architecture" | "sha256">;

/** apt's file name for a package ("libc6_2.36-9+deb12u10_amd64.deb"; an epoch's colon as %3a). */
export function debFileName(p: DebPackage): string {
  return `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.architecture}.deb`;
}

/** Files that differ between two builds of the same layer (mmdebstrap's cleanup/reproducible list, and apt's caches). */
export const UNREPRODUCIBLE = [
  "/var/log/dpkg.log",
  "/var/log/apt/history.log",
  "/var/log/apt/term.log",
  "/var/log/apt/eipp.log.xz",
  "/var/log/alternatives.log",
  "/var/cache/ldconfig/aux-cache",
  "/var/lib/dbus/machine-id",
  "/var/cache/apt/pkgcache.bin",
  "/var/cache/apt/srcpkgcache.bin",
];

/** Makes sure `debCache` holds each package's .deb with the lock's sha256 (downloading from the host's apt sources what it lacks). */
export async function fetchDebs(debCache: string, packages: readonly DebPackage[]): Promise<void> {
  const missing = packages.filter((p) => !existsSync(join(debCache, debFileName(p))));
  if (missing.length > 0) {
    try {
      await runTool("apt-get", ["download", "-q", "-o", "APT::Sandbox::User=root", ...missing.map((p) => `${p.name}=${p.version}`)], {}, debCache);
    } catch (err) {
      const message = (err as Error).message;
      const why = explainFailure(message);
      throw new Error(why === undefined ? message : `${why}\n${message}`);
    }
  }
  for (const p of packages) {
    const file = join(debCache, debFileName(p));
    if (!existsSync(file)) throw new Error(`apt-get download gave no ${debFileName(p)} for ${p.name} ${p.version}`);
    if (p.sha256 === undefined) continue;
    const got = createHash("sha256").update(readFileSync(file)).digest("hex");
    if (got !== p.sha256) {
      rmSync(file, { force: true });
      throw new Error(`${debFileName(p)} has sha256 ${got}, the lock says ${p.sha256}; removed it from the .deb cache (run the build again to fetch it anew, or 'virtform images lock --update' if the mirror changed it)`);
    }
  }
}

/** Installs `packages` (already in `debCache`) into the mounted layer with the image's own apt. */
export async function installDebs(layer: MountedLayer, debCache: string, packages: readonly DebPackage[], epoch: number): Promise<void> {
  const root = layer.root;
  const inner = layer.inner.length;
  await mountInside(layer, "proc", ["-t", "proc", "proc"]);
  await mountInside(layer, "sys", ["-t", "sysfs", "sysfs"]);
  await mountInside(layer, "dev", ["--bind", "/dev"]);
  // Scripts' scratch files stay out of the overlay (mkinitramfs alone writes tens of MiB to /var/tmp);
  // the .deb files are read where they are cached.
  await mountInside(layer, "tmp", ["-t", "tmpfs", "tmpfs"]);
  await mountInside(layer, "var/tmp", ["-t", "tmpfs", "tmpfs"]);
  await mountInside(layer, "tmp/virtform-debs", ["--bind", "-o", "ro", debCache]);
  const policy = join(root, "usr/sbin/policy-rc.d");
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) {
    writeFileSync(policy, "#!/bin/sh\nexit 101\n");
    chmodSync(policy, 0o755);
  }
  try {
    const env = {
      SOURCE_DATE_EPOCH: String(epoch),
      DEBIAN_FRONTEND: "noninteractive",
      DEBCONF_NONINTERACTIVE_SEEN: "true",
      LC_ALL: "C.UTF-8",
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };
    const files = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((p) => `/tmp/virtform-debs/${debFileName(p)}`);
    await runTool(
      "chroot",
      [
        root,
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "APT::Sandbox::User=root",
        "-o",
        "DPkg::Options::=--force-unsafe-io",
        "-o",
        "Dpkg::Use-Pty=false",
        ...files,
      ],
      env,
    );
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
    for (const m of layer.inner.splice(inner).reverse()) unmount(m);
  }
  for (const f of UNREPRODUCIBLE) rmSync(join(root, f), { force: true });
  // systemd's postinst makes a random machine id; an image's is empty, filled on each machine's first boot (machine-id(5)).
  const machineId = join(root, "etc/machine-id");
  if (existsSync(machineId) && statSync(machineId).size > 0) writeFileSync(machineId, "");
}
