// A locked package for tests that write a lock by hand: requested, or part of the base.
import type { LockedPackage } from "../../images/lockfile.ts";

export const lockedPackage = (name: string, version = "1", base = false, installedKiB = 100): LockedPackage => ({
  name,
  version,
  architecture: "amd64",
  installedKiB,
  ...(base ? { base: true as const } : {}),
  reason: base ? { kind: "base", base: "debian-12" } : { kind: "requested" },
});
