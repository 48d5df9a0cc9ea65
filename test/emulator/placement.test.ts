// placeInstance is pure: each row gives the hosts' free room and residents, the need and the rules,
// and expects either the chosen host or the exact explanation.
import { describe, expect, it } from "vitest";
import { placeInstance, type HostRoom, type PlacementRules, type Resident } from "../../emulator/compute/placement.ts";

const host = (index: number, free: Partial<HostRoom["free"]> = {}, residents: Resident[] = []): HostRoom => ({
  id: `h${index}`,
  index,
  free: { vcpu: 16, memoryGiB: 64, localDiskGiB: 500, ...free },
  residents,
});
const need = (memoryGiB: number, vcpu = 2, localDiskGiB = 0) => ({ vcpu, memoryGiB, localDiskGiB });
const app = (extra: Partial<Resident> = {}): Resident => ({ group: "app", ...extra });
const anti = (g: string): Resident => ({ group: "other", antiAffinityGroup: g });
const aff = (g: string): Resident => ({ group: "other", affinityGroup: g });

// A row expects exactly one outcome, the host chosen or the explanation: the type says so.
type Row = {
  name: string;
  hosts: HostRoom[];
  need: ReturnType<typeof need>;
  rules: PlacementRules | "spread" | "pack";
} & ({ host: string; reason?: never } | { reason: string; host?: never });

const rows: Row[] = [
  { name: "spread picks the most free memory", hosts: [host(0, { memoryGiB: 10 }), host(1, { memoryGiB: 40 }), host(2, { memoryGiB: 20 })], need: need(4), rules: "spread", host: "h1" },
  { name: "pack picks the least free memory that fits", hosts: [host(0, { memoryGiB: 10 }), host(1, { memoryGiB: 40 }), host(2, { memoryGiB: 3 })], need: need(4), rules: "pack", host: "h0" },
  { name: "ties go to the first host", hosts: [host(0), host(1), host(2)], need: need(4), rules: "spread", host: "h0" },
  { name: "pack ties go to the first host", hosts: [host(0), host(1)], need: need(4), rules: { policy: "pack" }, host: "h0" },
  { name: "an exact fit fits", hosts: [host(0, { memoryGiB: 16 })], need: need(16), rules: "spread", host: "h0" },
  { name: "fractional free memory within rounding fits", hosts: [host(0, { memoryGiB: 16 - 1e-12 })], need: need(16), rules: "spread", host: "h0" },
  { name: "no hosts at all", hosts: [], need: need(1), rules: "spread", reason: "the cluster has no hosts" },
  { name: "every host lacks memory", hosts: [host(0, { memoryGiB: 12 }), host(1, { memoryGiB: 8 })], need: need(16), rules: "spread", reason: "2 of 2 hosts lack memory (need 16 GiB, max free 12 GiB)" },
  { name: "one host lacks vCPU, the other memory", hosts: [host(0, { vcpu: 1 }), host(1, { memoryGiB: 2 })], need: need(4), rules: "spread", reason: "1 of 2 hosts lacks vCPU (need 2, max free 1); 1 of 2 hosts lacks memory (need 4 GiB, max free 2 GiB)" },
  { name: "local disk", hosts: [host(0, { localDiskGiB: 30 }), host(1, { localDiskGiB: 10 })], need: need(1, 1, 40), rules: "pack", reason: "2 of 2 hosts lack local disk (need 40 GiB, max free 30 GiB)" },
  { name: "negative free room is reported as 0", hosts: [host(0, { memoryGiB: -3 })], need: need(1), rules: "spread", reason: "1 of 1 hosts lacks memory (need 1 GiB, max free 0 GiB)" },
  { name: "a host is charged to its first lacking resource only", hosts: [host(0, { vcpu: 0, memoryGiB: 0 })], need: need(1), rules: "spread", reason: "1 of 1 hosts lacks vCPU (need 2, max free 0)" },
  { name: "anti-affinity avoids hosts running a member", hosts: [host(0, {}, [anti("web")]), host(1, { memoryGiB: 8 }), host(2, {}, [anti("web")])], need: need(4), rules: { policy: "spread", antiAffinityGroup: "web" }, host: "h1" },
  { name: "anti-affinity ignores other groups", hosts: [host(0, {}, [anti("db")])], need: need(4), rules: { policy: "spread", antiAffinityGroup: "web" }, host: "h0" },
  { name: "anti-affinity exhausted", hosts: [host(0, {}, [anti("web")]), host(1, {}, [anti("web")])], need: need(4), rules: { policy: "spread", antiAffinityGroup: "web" }, reason: "2 of 2 hosts excluded by anti-affinity group web (each already runs a member)" },
  {
    name: "the issue's example: memory on three hosts, anti-affinity on the fourth",
    hosts: [host(0, { memoryGiB: 12 }), host(1, { memoryGiB: 12 }), host(2, { memoryGiB: 4 }), host(3, { memoryGiB: 40 }, [anti("app")])],
    need: need(16),
    rules: { policy: "spread", antiAffinityGroup: "app" },
    reason: "3 of 4 hosts lack memory (need 16 GiB, max free 12 GiB); 1 of 4 hosts excluded by anti-affinity group app (each already runs a member)",
  },
  { name: "affinity joins the host of the group", hosts: [host(0), host(1, { memoryGiB: 10 }, [aff("cache")]), host(2)], need: need(4), rules: { policy: "spread", affinityGroup: "cache" }, host: "h1" },
  { name: "affinity without members yet follows the policy", hosts: [host(0, { memoryGiB: 10 }), host(1, { memoryGiB: 30 })], need: need(4), rules: { policy: "spread", affinityGroup: "cache" }, host: "h1" },
  {
    name: "affinity host full",
    hosts: [host(0), host(1, { memoryGiB: 2 }, [aff("cache")]), host(2)],
    need: need(4),
    rules: { policy: "spread", affinityGroup: "cache" },
    reason: "1 of 3 hosts lacks memory (need 4 GiB, max free 2 GiB); 2 of 3 hosts excluded by affinity group cache (its members run on h1)",
  },
  { name: "maxPerHost skips full hosts", hosts: [host(0, {}, [app(), app()]), host(1, { memoryGiB: 10 }, [app()])], need: need(4), rules: { policy: "spread", group: "app", maxPerHost: 2 }, host: "h1" },
  { name: "maxPerHost counts only its own group", hosts: [host(0, {}, [{ group: "db" }, { group: "db" }])], need: need(4), rules: { policy: "spread", group: "app", maxPerHost: 1 }, host: "h0" },
  { name: "maxPerHost reached everywhere", hosts: [host(0, {}, [app()]), host(1, {}, [app()])], need: need(4), rules: { policy: "pack", group: "app", maxPerHost: 1 }, reason: "2 of 2 hosts excluded by maxPerHost 1 (each already runs 1 of group app)" },
  {
    name: "every constraint takes its share",
    hosts: [host(0, { memoryGiB: 1 }), host(1, {}, [anti("a")]), host(2, {}, [app({ antiAffinityGroup: "b" }), app()]), host(3, { vcpu: 0 })],
    need: need(4),
    rules: { policy: "spread", group: "app", antiAffinityGroup: "a", maxPerHost: 2 },
    reason: "1 of 4 hosts lacks vCPU (need 2, max free 0); 1 of 4 hosts lacks memory (need 4 GiB, max free 1 GiB); 1 of 4 hosts excluded by anti-affinity group a (each already runs a member); 1 of 4 hosts excluded by maxPerHost 2 (each already runs 2 of group app)",
  },
  { name: "affinity and anti-affinity together", hosts: [host(0, {}, [aff("x"), anti("y")]), host(1, {}, [aff("x")])], need: need(4), rules: { policy: "spread", affinityGroup: "x", antiAffinityGroup: "y" }, host: "h1" },
  { name: "a preferred host that passes stays", hosts: [host(0, { memoryGiB: 10 }), host(1, { memoryGiB: 50 })], need: need(4), rules: { policy: "spread", prefer: "h0" }, host: "h0" },
  { name: "a preferred host that fails is left", hosts: [host(0, { memoryGiB: 2 }), host(1, { memoryGiB: 50 })], need: need(4), rules: { policy: "spread", prefer: "h0" }, host: "h1" },
  { name: "a preferred host breaking anti-affinity is left", hosts: [host(0, {}, [anti("w")]), host(1)], need: need(4), rules: { policy: "pack", antiAffinityGroup: "w", prefer: "h0" }, host: "h1" },
];

describe("placeInstance", () => {
  it.each(rows)("$name", (row) => {
    const result = placeInstance(row.hosts, row.need, row.rules);
    expect(result).toEqual(row.host !== undefined ? { ok: true, hostId: row.host } : { ok: false, reason: row.reason });
  });

  it("anti-affinity over many hosts uses each host once, then explains", () => {
    const hosts = Array.from({ length: 50 }, (_, i) => host(i));
    const used = new Set<string>();
    for (let n = 0; n < 50; n++) {
      const result = placeInstance(hosts, need(1), { policy: "pack", antiAffinityGroup: "g" });
      if (!result.ok) throw new Error(result.reason);
      used.add(result.hostId);
      hosts.find((h) => h.id === result.hostId)!.residents = [anti("g")];
    }
    expect(used.size).toBe(50);
    expect(placeInstance(hosts, need(1), { policy: "pack", antiAffinityGroup: "g" })).toEqual({
      ok: false,
      reason: "50 of 50 hosts excluded by anti-affinity group g (each already runs a member)",
    });
  });
});
