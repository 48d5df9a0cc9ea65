import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "../../images/dependency-solver.ts";
import { loadCatalog, systemPackageLists, type PackageCatalog } from "../../images/package-catalog.ts";
import { ORACLE_CORPUS } from "../images/corpus.ts";
import { aptSimulateInstallAsync, snapshotAptLists, type AptSimulation } from "../oracles/apt.ts";

// apt itself is the reference: the closure must equal what
// `apt-get -s -o Dir::State::status=/dev/null -o APT::Install-Recommends=false install PKGS`
// lists in its Inst lines, both reading one copy of the system's apt lists. It needs those lists
// (`apt-get update`, which .ci/run does): without them it fails under CI and is skipped elsewhere.
const haveLists = systemPackageLists().length > 0;
if (!haveLists && process.env.CI) throw new Error("the apt oracle needs apt's package lists: run `apt-get update` first");
describe.skipIf(!haveLists)("closure equals apt-get -s on the system catalog", () => {
  let catalog: PackageCatalog;
  let lists: string | undefined;
  const apt = new Map<string, AptSimulation>();

  beforeAll(async () => {
    lists = snapshotAptLists();
    catalog = await loadCatalog(systemPackageLists(lists));
    // The first run builds apt's cache file alone; the rest reuse it two at a time.
    const queue = [...ORACLE_CORPUS];
    const first = queue.shift()!;
    apt.set(first.join(" "), await aptSimulateInstallAsync(first));
    const worker = async (): Promise<void> => {
      for (let set = queue.shift(); set !== undefined; set = queue.shift()) apt.set(set.join(" "), await aptSimulateInstallAsync(set));
    };
    await Promise.all([worker(), worker()]);
  }, 600_000); // 30 apt-get runs: seconds each on a loaded 2-core machine
  afterAll(() => {
    if (lists) rmSync(lists, { recursive: true, force: true }); // the copy of the lists, apt's cache files with it
  });

  it("has a corpus of at least 25 sets", () => {
    expect(ORACLE_CORPUS.length).toBeGreaterThanOrEqual(25);
    expect(catalog.packageCount).toBeGreaterThan(1000);
  });

  it.each(ORACLE_CORPUS.map((s) => [s.join(" "), s] as const))("%s", (_label, set) => {
    const sim = apt.get(set.join(" "))!;
    expect(sim.ok, sim.output).toBe(true);
    expect(sim.installs.length).toBeGreaterThan(0);
    const r = resolve(catalog, set.map((name) => ({ name })));
    if (!r.ok) throw new Error(`solver failed where apt succeeded:\n${r.explanation}`);
    const ours = r.packages.map((p) => `${p.name} ${p.version}`).sort();
    const theirs = sim.installs.map((p) => `${p.name} ${p.version}`).sort();
    expect(ours).toEqual(theirs);
    // Architectures match too, and every package carries the index's checksum.
    expect(r.packages.map((p) => `${p.name} ${p.architecture}`).sort()).toEqual(sim.installs.map((p) => `${p.name} ${p.architecture}`).sort());
    expect(r.packages.every((p) => /^[0-9a-f]{64}$/.test(p.sha256 ?? ""))).toBe(true);
  });

  it("fails where apt fails, with an explanation", async () => {
    const set = ["systemd-sysv", "sysvinit-core"];
    const sim = await aptSimulateInstallAsync(set);
    expect(sim.ok).toBe(false);
    const r = resolve(catalog, set.map((name) => ({ name })));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.explanation).toMatch(/^systemd-sysv \S+ Conflicts: sysvinit-core, which is also to be installed\n {2}- sysvinit-core \S+ is requested too/);
  });
});
