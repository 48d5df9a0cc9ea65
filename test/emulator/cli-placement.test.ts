// End to end through the real `virtform` binary: a group whose anti-affinity cannot be met on the
// cluster fails at plan time, naming the member, its source line and every constraint.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

const program = (count: number) => `import { stack } from "virtform";
export default stack("spread", (s) => {
  const img = s.image("app", { base: "debian-12", packages: ["tomcat10"], variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "hosted", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 100 } });
  web.instances("app", {
    count: ${count},
    image: img.variant("light"),
    vcpu: 2,
    memoryGiB: 8,
    placement: { antiAffinityGroup: "app" },
  });
});
`;

describe("placement at plan time", () => {
  it("anti-affinity that cannot fit fails at plan with the explanation and the source line", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program(3));
    const result = await runCli(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "infra.ts:5: instances.web/app[2]: create would fail: no host of cluster cluster.web can take instances.web/app[2] (2 vCPU, 8 GiB memory, 0 GiB local disk): 2 of 2 hosts excluded by anti-affinity group app (each already runs a member)",
    );
    expect(existsSync(join(dir, ".virtform", "state", "spread.json"))).toBe(false);
  });

  it("the same program with as many members as hosts applies, one member per host", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, program(2));
    const applied = await runCli(dir, ["apply", "--yes"]);
    expect(applied.stderr).not.toContain("Error");
    expect(applied.code).toBe(0);
    const inspect = JSON.parse((await runCli(dir, ["emulator", "inspect", "--json"])).stdout) as {
      instances: Record<string, { hostId: string; state: string }>;
    };
    const instances = Object.values(inspect.instances);
    expect(instances).toHaveLength(2);
    expect(new Set(instances.map((i) => i.hostId)).size).toBe(2);
    expect(instances.every((i) => i.state === "running")).toBe(true);
  });
});
