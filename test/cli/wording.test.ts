// What the CLI says must be true and read well (issue 10, point 8): refresh does not claim "No
// changes" and then record some; destroy without its program says so; a closed pipe is no crash;
// articles agree with kind names; derived GiB figures read as people write them.
import { spawn } from "node:child_process";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, runCli, writeProgram, type CliResult } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

// 96 GiB x overcommit 2.7 is 259.20000000000005 in floating point.
const PROGRAM = `import { stack } from "virtform";
export default stack("words", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 96 }], overcommit: 2.7 });
  const img = s.image("app", { base: "debian-12", variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 16, localDiskGiB: 100 } });
  web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  pool.volume("data", { sizeGiB: 10 });
  return {};
});
`;

function idOf(dir: string, address: string): string {
  const state = JSON.parse(readFileSync(join(dir, ".virtform/state/words.json"), "utf8")) as { resources: Record<string, { id: string }> };
  return state.resources[address]!.id;
}

describe("what the CLI says", () => {
  const dir = makeWorkdir();

  it("state show prints derived GiB figures rounded, and state mv says 'an Instance'", async () => {
    writeProgram(dir, PROGRAM);
    ok(await runCli(dir, ["apply", "--yes"]));
    const shown = ok(await runInProcess(dir, ["state", "show", "pool.p"])).stdout;
    expect(shown).toContain("provisionableGiB = 259.2\n");
    const moved = await runCli(dir, ["state", "mv", "instances.web/app[0]", "volume.moved"]);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("volume.moved names a Volume resource, but instances.web/app[0] is an Instance");
  });

  it("refresh reports the drift it records, with no 'No changes' before it", async () => {
    const emulator = Emulator.open(join(dir, ".virtform/emulator"));
    const volumeId = idOf(dir, "volume.data");
    emulator.update("Volume", volumeId, { ...emulator.get("Volume", volumeId)!.spec, sizeGiB: 20 }, { restart: false });
    await emulator.close?.();
    const refreshed = ok(await runCli(dir, ["refresh"])).stdout;
    expect(refreshed).toContain("~ volume.data was changed outside virtform");
    expect(refreshed).toContain("Refresh complete: 1 object(s) updated in state.");
    expect(refreshed).not.toContain("No changes");
    expect(refreshed).not.toContain("matches the program");
  });

  it("exits quietly when the reader of its output goes away (emulator inspect | head)", async () => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/virtform.mjs"), "emulator", "inspect"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("destroy without its program says it destroys from state, and still asks", async () => {
    renameSync(join(dir, "infra.ts"), join(dir, "gone.ts"));
    const notice = "program infra.ts not found: destroying the 5 resources state holds for stack words";
    const unconfirmed = await runCli(dir, ["destroy"]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stdout).toContain(notice);
    expect(unconfirmed.stderr).toContain("destroy needs confirmation: run it in a terminal or pass --yes");
    const destroyed = ok(await runCli(dir, ["destroy", "--yes"]));
    expect(destroyed.stdout).toContain(notice);
    expect(destroyed.stdout).toContain("Apply complete: 0 created, 0 updated, 5 deleted.");
  });
});
