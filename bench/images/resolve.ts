// Benchmark: resolve 20 image-variant package sets against the full bookworm + security +
// updates catalog, then run the same sets through `apt-get -s` for comparison.
// Run: npx tsx bench/images/resolve.ts [--apt-sets N]   (apt-get -s for the first N sets only; default all)

import { aptSimulateInstallAsync, type AptSimulation } from "../../test/oracles/apt.ts";
import { resolve, type PackageRequest } from "../../images/dependency-solver.ts";
import { loadSystemCatalog, systemPackageLists } from "../../images/package-catalog.ts";
import { commandOf, emitResult, takeJsonFlag } from "../result.ts";

const json = takeJsonFlag();
const aptSetsAt = process.argv.indexOf("--apt-sets");

// A Java application server in heavy / moderate / light profiles, plus the usual neighbours.
const VARIANTS: { name: string; requests: PackageRequest[] }[] = [
  { name: "java-heavy", requests: [{ name: "tomcat10" }, { name: "openjdk-17-jdk-headless" }, { name: "libtcnative-1" }, { name: "prometheus-node-exporter" }] },
  { name: "java-moderate", requests: [{ name: "tomcat10" }, { name: "openjdk-17-jre-headless", constraint: ">= 17.0.14" }, { name: "prometheus-node-exporter" }] },
  { name: "java-light", requests: [{ name: "openjdk-17-jre-headless" }] },
  { name: "java-jetty", requests: [{ name: "jetty9" }] },
  { name: "java-build", requests: [{ name: "default-jdk-headless" }, { name: "maven" }, { name: "ant" }] },
  { name: "tomcat-admin", requests: [{ name: "tomcat10" }, { name: "tomcat10-admin" }, { name: "tomcat10-user" }] },
  { name: "nginx", requests: [{ name: "nginx" }] },
  { name: "nginx-php", requests: [{ name: "nginx" }, { name: "php-fpm" }] },
  { name: "apache-php", requests: [{ name: "apache2" }, { name: "libapache2-mod-php" }] },
  { name: "postgresql", requests: [{ name: "postgresql" }] },
  { name: "postgresql-monitored", requests: [{ name: "postgresql-15" }, { name: "pgbouncer" }, { name: "prometheus-postgres-exporter" }] },
  { name: "mariadb", requests: [{ name: "mariadb-server" }, { name: "prometheus-mysqld-exporter" }] },
  { name: "python", requests: [{ name: "python3" }] },
  { name: "python-web", requests: [{ name: "python3-django" }, { name: "gunicorn" }, { name: "python3-venv" }] },
  { name: "ssh-base", requests: [{ name: "openssh-server" }, { name: "sudo" }] },
  { name: "monitoring", requests: [{ name: "prometheus" }, { name: "prometheus-alertmanager" }, { name: "prometheus-blackbox-exporter" }] },
  { name: "redis", requests: [{ name: "redis-server" }, { name: "prometheus-redis-exporter" }] },
  { name: "lb", requests: [{ name: "haproxy" }, { name: "keepalived" }, { name: "prometheus-node-exporter" }] },
  { name: "mail", requests: [{ name: "postfix" }, { name: "mailutils" }] },
  { name: "hypervisor", requests: [{ name: "qemu-system-x86" }, { name: "libvirt-daemon-system" }] },
];

function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const lists = systemPackageLists();
  if (lists.length === 0) {
    console.error("no apt Packages lists in /var/lib/apt/lists; run 'apt-get update' first");
    process.exitCode = 1;
    return;
  }
  const t0 = performance.now();
  const catalog = await loadSystemCatalog();
  const loadMs = performance.now() - t0;
  console.log(`catalog: ${lists.length} indexes, ${catalog.packageCount} packages, ${catalog.recordCount} versions, loaded in ${ms(loadMs)}`);

  const rows: { name: string; count: number; mb: number; ours: number; apt: number; same: string }[] = [];
  const t1 = performance.now();
  const results = VARIANTS.map((v) => {
    const s = performance.now();
    const r = resolve(catalog, v.requests);
    return { r, ms: performance.now() - s };
  });
  const resolveMs = performance.now() - t1;

  // apt-get cannot take version ranges on the command line; name-only sets are compared. apt takes
  // seconds per set on a busy machine, so a quick run compares the first few.
  const compared = aptSetsAt >= 0 ? VARIANTS.slice(0, Number(process.argv[aptSetsAt + 1])) : VARIANTS;
  const t2 = performance.now();
  const aptTimes: number[] = [];
  const sims: AptSimulation[] = [];
  for (const v of compared) {
    const s = performance.now();
    sims.push(await aptSimulateInstallAsync(v.requests.map((q) => q.name)));
    aptTimes.push(performance.now() - s);
  }
  const aptMs = performance.now() - t2;

  compared.forEach((v, i) => {
    const { r, ms: oursMs } = results[i]!;
    const sim = sims[i]!;
    const ours = r.ok ? r.packages.map((p) => `${p.name} ${p.version}`).sort().join("\n") : "";
    const theirs = sim.installs.map((p) => `${p.name} ${p.version}`).sort().join("\n");
    rows.push({
      name: v.name,
      count: r.ok ? r.packages.length : 0,
      mb: r.ok ? r.installedSizeKiB / 1024 : 0,
      ours: oursMs,
      apt: aptTimes[i]!,
      same: !r.ok ? "FAILED" : ours === theirs ? "yes" : "NO",
    });
  });

  const header = ["variant", "packages", "installed MiB", "virtform", "apt-get -s", "same as apt"];
  const body = rows.map((r) => [r.name, String(r.count), r.mb.toFixed(1), ms(r.ours), ms(r.apt), r.same]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  ");
  console.log("");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
  console.log("");
  console.log(`catalog load:              ${ms(loadMs)}`);
  console.log(`resolve, all 20 variants:  ${ms(resolveMs)} (target <= 1000 ms) ${resolveMs <= 1000 ? "ok" : "OVER TARGET"}`);
  console.log(`apt-get -s, ${compared.length} of the sets: ${ms(aptMs)}`);
  const oursCompared = results.slice(0, compared.length).reduce((sum, r) => sum + r.ms, 0);
  const agreed = rows.filter((r) => r.same === "yes").length;
  console.log(`agreement with apt:        ${agreed}/${rows.length}`);
  emitResult(json, {
    benchmark: "images",
    command: commandOf("bench/images/resolve.ts"),
    rows: [
      { what: "resolve 20 package sets (bookworm catalog)", unit: "ms", ours: resolveMs, target: "<= 1000 ms", met: resolveMs <= 1000 },
      { what: `resolve the ${compared.length} sets apt-get -s also resolved`, unit: "ms", ours: oursCompared, peer: aptMs, peerName: "apt-get -s", ratio: aptMs / oursCompared, ratioMeaning: "apt / ours" },
      { what: "package sets resolved as apt does", unit: "sets", ours: agreed, target: `${rows.length}/${rows.length}`, met: agreed === rows.length },
      { what: "catalog load", unit: "ms", ours: loadMs },
    ],
  });
}

await main();
