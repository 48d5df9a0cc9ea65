// review --base estimates capacity from the programs: the totals are the emulator's own (checked
// against a real embedded emulator holding the same cluster and pool), the use is what the
// program's instances and volumes ask for.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { EmbeddedBackend } from "../../provider/embedded-backend.ts";
import { overcommitted, programCapacity } from "../../review/program-capacity.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack } from "../../sdk/index.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const cluster = { hypervisor: "hosted", hosts: { count: 3, vcpu: 16, memoryGiB: 64, localDiskGiB: 500 }, overcommit: { cpu: 2 } } as const;
const pool = { media: "ssd", devices: [{ sizeGiB: 100 }, { sizeGiB: 50 }], overcommit: 2 } as const;

function program(count: number) {
  return evaluateStack(
    stack("cap", (s) => {
      const web = s.cluster("web", cluster);
      const image = s.image("app", { base: "debian-12", variants: { light: {} } });
      web.instances("app", { count, image: image.variant("light"), vcpu: 8, memoryGiB: 16, localDiskGiB: 50 });
      s.storagePool("fast", { ...pool, devices: [...pool.devices] }).volume("data", { sizeGiB: 120 });
    }),
  );
}

describe("program capacity", () => {
  it("totals match the emulator's capacity report for the same cluster and pool", async () => {
    const rows = programCapacity(program(2).resources);
    const emulator = new EmbeddedBackend(Emulator.open(makeWorkdir("virtform-cap-")));
    try {
      await emulator.create("Cluster", { ...cluster, overcommit: { cpu: 2, memory: 1 } }, { name: "cluster.web", token: "c" });
      await emulator.create("StoragePool", { ...pool, devices: [...pool.devices] }, { name: "pool.fast", token: "p" });
      const report = await emulator.capacity();
      const totals = (r: { measure: string; total: number }[]) => r.map((row) => [row.measure, row.total]);
      expect(totals(rows)).toEqual(totals(report));
    } finally {
      await emulator.emulator.close();
    }
    expect(rows.map((r) => [r.owner, r.measure, r.used])).toEqual([
      ["cluster.web", "vCPU", 16],
      ["cluster.web", "memory", 32],
      ["cluster.web", "local disk", 100],
      ["pool.fast", "provisioned", 120],
    ]);
    expect(overcommitted(rows)).toEqual([]);
  });

  it("an instance group larger than the cluster is an error naming the cluster and each measure it exceeds", () => {
    const problems = overcommitted(programCapacity(program(20).resources));
    expect(problems.map((p) => `${p.address}: ${p.message}`)).toEqual([
      expect.stringMatching(/^cluster\.web: cluster\.web vCPU: the program asks for 160, \d+ usable in all$/),
      expect.stringMatching(/^cluster\.web: cluster\.web memory: the program asks for 320 GiB, [\d.]+ usable in all$/),
    ]);
  });
});
