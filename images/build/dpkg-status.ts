// The packages an image really holds, read from its own /var/lib/dpkg/status, compared with the
// locked set: a build whose image differs from its lock in any name, version or architecture fails.

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
}

/** Installed packages ("Status: install ok installed") of a dpkg status file. */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(stanza)?.[1]?.trim();
    const name = field("Package");
    if (name === undefined || field("Status") !== "install ok installed") continue;
    out.push({ name, version: field("Version") ?? "", architecture: field("Architecture") ?? "" });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface StatusMismatch {
  missing: string[];
  extra: string[];
  /** "name: locked 1.0 amd64, installed 1.1 amd64" */
  different: string[];
}

/** How the installed set differs from the locked one; undefined when they are the same. */
export function compareWithLock(installed: readonly InstalledPackage[], locked: readonly InstalledPackage[]): StatusMismatch | undefined {
  const have = new Map(installed.map((p) => [p.name, p]));
  const want = new Map(locked.map((p) => [p.name, p]));
  const missing = [...want.keys()].filter((n) => !have.has(n)).sort();
  const extra = [...have.keys()].filter((n) => !want.has(n)).sort();
  const different: string[] = [];
  for (const [name, w] of want) {
    const h = have.get(name);
    // "all" packages are locked as "all"; dpkg says the same.
    if (h && (h.version !== w.version || h.architecture !== w.architecture)) {
      different.push(`${name}: locked ${w.version} ${w.architecture}, installed ${h.version} ${h.architecture}`);
    }
  }
  different.sort();
  return missing.length + extra.length + different.length === 0 ? undefined : { missing, extra, different };
}

export function formatMismatch(m: StatusMismatch): string {
  return [
    ...(m.missing.length ? [`missing: ${m.missing.join(", ")}`] : []),
    ...(m.extra.length ? [`not in the lock: ${m.extra.join(", ")}`] : []),
    ...m.different,
  ].join("\n");
}
