// The bounds on a cluster's overcommit ratios (sdk/kinds/cluster.ts): vCPUs up to 64 per CPU thread
// (dense idle guests, as OpenStack allows any ratio), memory up to 4.
import { describe, expect, it } from "vitest";
import { kinds } from "../../sdk/kinds/index.ts";

const cluster = (overcommit: object) =>
  kinds.Cluster.inputs.safeParse({ hypervisor: "native", hosts: { count: 2, vcpu: 2, memoryGiB: 8, localDiskGiB: 10 }, overcommit });
const messages = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.success ? "ok" : result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");

describe("overcommit bounds", () => {
  it.each([
    ["cpu 16 (OpenStack's old default)", { cpu: 16 }, "ok"],
    ["cpu 25: 100 one-vCPU domains on two 2-CPU hosts", { cpu: 25 }, "ok"],
    ["cpu 64", { cpu: 64 }, "ok"],
    ["cpu 65", { cpu: 65 }, "overcommit.cpu: Too big: expected number to be <=64"],
    ["cpu below 1", { cpu: 0.5 }, "overcommit.cpu: Too small: expected number to be >=1"],
    ["memory 4", { memory: 4 }, "ok"],
    ["memory 5", { memory: 5 }, "overcommit.memory: Too big: expected number to be <=4"],
  ])("%s", (_what, overcommit, expected) => {
    expect(messages(cluster(overcommit))).toBe(expected);
  });
});
