// The walking skeleton end to end through the CLI: plan -> apply -> no-op plan -> edit -> exact
// plan -> apply -> destroy, on the embedded emulator. The binary makes the first plan and apply,
// gives the exit codes and refuses an unconfirmed apply; the other commands run in process
// (test/helpers/in-process.ts): what the binary does, without a process per call.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, readJson, runCli, writeProgram, type CliResult } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";
import { shopProgram } from "../helpers/programs.ts";

interface JsonPlan {
  format_version: string;
  changes: { address: string; kind: string; action: string; reason: string; before: unknown; after: unknown; fields: { path: string; before: unknown; after: unknown }[] }[];
  summary: { create: number; update: number; replace: number; delete: number };
}

interface Inspect {
  clusters: Record<string, { hosts: unknown[] }>;
  instances: Record<string, { name: string; spec: { vcpu: number }; state: string }>;
  volumes: Record<string, { name: string; spec: { sizeGiB: number } }>;
  attachments: Record<string, { name: string }>;
  pools: Record<string, unknown>;
  images: Record<string, unknown>;
}

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

describe("plan, apply, edit, destroy through the CLI", () => {
  const dir = makeWorkdir();

  it("plans 18 creates for the shop, in JSON with format_version and summary", async () => {
    writeProgram(dir, shopProgram());
    const result = ok(await runCli(dir, ["plan", "--json"]));
    const plan = JSON.parse(result.stdout) as JsonPlan;
    expect(plan.format_version).toBe("1.2");
    expect(plan.summary).toEqual({ create: 18, update: 0, replace: 0, delete: 0, unchanged: 0 });
    expect(plan.changes.map((c) => c.address)).toContain("instances.web/storefront[2]");
    expect(plan.changes.map((c) => c.address)).toContain("attachment.shared-data@web/backoffice[1]");
    const instance = plan.changes.find((c) => c.address === "instances.web/storefront[0]")!;
    expect(instance).toMatchObject({ kind: "Instance", action: "create", reason: "not-in-state", before: null });
  });

  it("plan --detailed-exitcode exits 2 while there are changes", async () => {
    expect((await runCli(dir, ["plan", "--detailed-exitcode"])).code).toBe(2);
  });

  it("apply creates everything and reports it; state has serial and lineage", async () => {
    const result = ok(await runCli(dir, ["apply", "--yes"]));
    expect(result.stdout).toContain("Apply complete: 18 created, 0 updated, 0 deleted.");
    expect(result.stdout).toMatch(/sharedVolumeId = "vol-[0-9a-f]+"/);
    const state = readJson<{ serial: number; lineage: string; resources: Record<string, unknown> }>(join(dir, ".virtform/state/shop.json"));
    expect(Object.keys(state.resources)).toHaveLength(18);
    expect(state.serial).toBeGreaterThanOrEqual(18); // saved after every step
    expect(state.lineage).toMatch(/^[0-9a-f-]{36}$/);
    const emulator = JSON.parse(ok(await runInProcess(dir, ["emulator", "inspect", "--json"])).stdout) as Inspect;
    expect(Object.keys(emulator.instances)).toHaveLength(5);
    expect(Object.keys(emulator.attachments)).toHaveLength(8);
    expect(Object.values(emulator.clusters)[0]!.hosts).toHaveLength(4);
  });

  it("a second apply applies nothing and says so; plan exits 0 with --detailed-exitcode", async () => {
    const again = ok(await runInProcess(dir, ["apply", "--yes"]));
    expect(again.stdout).toContain("No changes.");
    expect(again.stdout).toContain("Apply complete: nothing to do.");
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("state list, state show and output read the state", async () => {
    const list = ok(await runInProcess(dir, ["state", "list"])).stdout.trim().split("\n");
    expect(list).toHaveLength(18);
    expect(list).toContain("cluster.web");
    const show = ok(await runInProcess(dir, ["state", "show", "instances.web/storefront[1]", "--json"]));
    expect(JSON.parse(show.stdout)).toMatchObject({ kind: "Instance", inputs: { vcpu: 8, group: "storefront", index: 1 } });
    const output = JSON.parse(ok(await runInProcess(dir, ["output", "--json"])).stdout) as { sharedVolumeId: string };
    const emulator = JSON.parse(ok(await runInProcess(dir, ["emulator", "inspect", "--json"])).stdout) as Inspect;
    expect(emulator.volumes[output.sharedVolumeId]?.name).toBe("volume.shared-data");
    const missing = await runInProcess(dir, ["state", "show", "volume.nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no resource volume.nope in state");
    // names every object has through its prototype are not in state either
    const inherited = await runInProcess(dir, ["state", "show", "constructor"]);
    expect([inherited.code, inherited.stderr]).toEqual([1, expect.stringContaining("no resource constructor in state")]);
    const noOutput = await runInProcess(dir, ["output", "toString"]);
    expect([noOutput.code, noOutput.stderr]).toEqual([1, expect.stringContaining("no output toString; outputs: ")]);
  });

  it("editing sizes and counts plans exactly those changes", async () => {
    writeProgram(dir, shopProgram({ storefrontCount: 4, storefrontVcpu: 12, sharedSizeGiB: 250 }));
    const plan = JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as JsonPlan;
    const byAddress = Object.fromEntries(plan.changes.map((c) => [c.address, c]));
    expect(Object.keys(byAddress).sort()).toEqual(
      [
        "attachment.shared-data@web/storefront[3]",
        "attachment.storefront-data@web/storefront[3]",
        "instances.web/storefront[0]",
        "instances.web/storefront[1]",
        "instances.web/storefront[2]",
        "instances.web/storefront[3]",
        "volume.shared-data",
      ].sort(),
    );
    expect(byAddress["volume.shared-data"]).toMatchObject({ action: "update", fields: [{ path: "sizeGiB", before: 200, after: 250 }] });
    expect(byAddress["instances.web/storefront[1]"]).toMatchObject({
      action: "update-with-restart",
      fields: [{ path: "vcpu", before: 8, after: 12 }],
    });
    expect(byAddress["instances.web/storefront[3]"]!.action).toBe("create");
    expect(plan.summary).toEqual({ create: 3, update: 4, replace: 0, delete: 0, unchanged: 14 });

    const text = ok(await runInProcess(dir, ["plan"])).stdout;
    expect(text).toContain("~ instances.web/storefront[0] will be updated in place, with a restart");
    expect(text).toContain("~ vcpu: 8 -> 12 (needs restart)");
    expect(text).toContain("~ sizeGiB: 200 -> 250");
    expect(text).toContain("Plan: 3 to create, 4 to update, 0 to replace, 0 to delete; 14 unchanged.");
    // The capacity section: what the cluster and the pool use of what they offer, before and after.
    expect(text).toMatch(/cluster\.web\s+vCPU\s+28 \/ 128 \(22%\)\s+->\s+52 \/ 128 \(41%\)/);
    expect(text).toMatch(/pool\.fast\s+provisioned\s+500 \/ 2048 GiB \(24%\)\s+->\s+550 \/ 2048 GiB \(27%\)/);
    const capacity = (JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as { capacity: { owner: string; measure: string; after: { used: number } }[] }).capacity;
    expect(capacity.find((c) => c.owner === "cluster.web" && c.measure === "memory")?.after.used).toBe(4 * 16 + 2 * 4);
  });

  it("applies the edit, and the emulator shows it", async () => {
    const result = ok(await runInProcess(dir, ["apply", "--yes"]));
    expect(result.stdout).toContain("Apply complete: 3 created, 4 updated, 0 deleted.");
    const emulator = JSON.parse(ok(await runInProcess(dir, ["emulator", "inspect", "--json"])).stdout) as Inspect;
    const storefronts = Object.values(emulator.instances).filter((i) => i.name.startsWith("instances.web/storefront"));
    expect(storefronts.map((i) => i.spec.vcpu)).toEqual([12, 12, 12, 12]);
    expect(Object.values(emulator.volumes).find((v) => v.name === "volume.shared-data")!.spec.sizeGiB).toBe(250);
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("shrinking the group deletes exactly the last member and its attachments", async () => {
    writeProgram(dir, shopProgram({ storefrontCount: 3, storefrontVcpu: 12, sharedSizeGiB: 250 }));
    const plan = JSON.parse(ok(await runInProcess(dir, ["plan", "--json"])).stdout) as JsonPlan;
    expect(plan.changes.map((c) => `${c.action} ${c.address}`).sort()).toEqual([
      "delete attachment.shared-data@web/storefront[3]",
      "delete attachment.storefront-data@web/storefront[3]",
      "delete instances.web/storefront[3]",
    ]);
    ok(await runInProcess(dir, ["apply", "--yes"]));
  });

  it("destroy deletes everything and leaves the emulator empty", async () => {
    const result = ok(await runInProcess(dir, ["destroy", "--yes"]));
    expect(result.stdout).toContain("Apply complete: 0 created, 0 updated, 18 deleted.");
    const emulator = JSON.parse(ok(await runInProcess(dir, ["emulator", "inspect", "--json"])).stdout) as Inspect;
    for (const collection of ["clusters", "images", "pools", "volumes", "instances", "attachments"] as const) {
      expect(emulator[collection]).toEqual({});
    }
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).toBe("");
  });

  it("apply without --yes and without a terminal refuses, changing nothing", async () => {
    const result = await runCli(dir, ["apply"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("apply needs confirmation: run it in a terminal or pass --yes");
    expect(ok(await runInProcess(dir, ["state", "list"])).stdout).toBe("");
  });
});
