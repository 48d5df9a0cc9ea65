// Lost state: every object a stack creates carries its stack, lineage and address as tags, so a
// state deleted after an apply does not make the next apply duplicate everything. Plan refuses and
// says how many objects the backend holds; `state recover` adopts them; --allow-duplicates creates.
// The binary applies first; the other commands run in process (test/helpers/in-process.ts).
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, readJson, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

const program = `import { stack } from "virtform";
export default stack("crash", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  const v = pool.volume("data", { sizeGiB: 10 });
  return { volume: v.id };
});
`;

/** Every object in the emulator's data dir, as "address lineage". */
function objects(dir: string): { name: string; tags?: Record<string, string> }[] {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, Record<string, { name: string; tags?: Record<string, string> }>>;
  return ["clusters", "pools", "volumes"].flatMap((c) => Object.values(data[c] ?? {}));
}

function loseState(dir: string): void {
  rmSync(join(dir, ".virtform/state/crash.json"));
  rmSync(join(dir, ".virtform/state/crash.journal"), { force: true });
}

describe("lost state", () => {
  it("plan refuses to duplicate what the backend holds; state recover adopts it; --allow-duplicates creates beside it", async () => {
    const dir = makeWorkdir("virtform-lost-");
    writeProgram(dir, program);
    expect((await runCli(dir, ["apply", "--yes"])).code).toBe(0);
    const { lineage } = readJson<{ lineage: string }>(join(dir, ".virtform/state/crash.json"));
    // Each object is tagged with who made it.
    expect(objects(dir).map((o) => o.tags).sort((a, b) => a!["virtform:address"]!.localeCompare(b!["virtform:address"]!))).toEqual(
      ["cluster.web", "pool.p", "volume.data"].map((address) => ({ "virtform:stack": "crash", "virtform:lineage": lineage, "virtform:address": address })),
    );

    loseState(dir);
    const refused = await runInProcess(dir, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the backend holds 3 objects of stack crash that state does not");
    expect(refused.stderr).toContain("the plan would create 3 of their addresses again");
    expect(refused.stderr).toContain("virtform state recover");
    expect(refused.stderr).not.toMatch(/\n\s+at /); // a diagnostic, not a stack trace

    const recovered = await runInProcess(dir, ["state", "recover"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain("Adopted 3 objects of stack crash into state");
    expect(recovered.stdout).toContain(`State takes the lineage of the adopted objects: ${lineage}`);
    const state = readJson<{ lineage: string; resources: Record<string, { dependsOn: string[] }> }>(join(dir, ".virtform/state/crash.json"));
    expect(state.lineage).toBe(lineage);
    expect(state.resources["volume.data"]!.dependsOn).toEqual(["pool.p"]); // from the program
    // Recovery adopts objects, not outputs: the plan changes no resource and records the outputs again.
    const clean = await runInProcess(dir, ["plan", "--detailed-exitcode"]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(2);
    expect(clean.stdout).toContain("no resource changes");
    expect(clean.stdout).toMatch(/\+ volume = "vol-/);
    expect(clean.stderr).not.toContain("the backend holds");

    // Told to, apply creates new objects beside the old ones; later plans only warn about them.
    loseState(dir);
    const duplicated = await runInProcess(dir, ["apply", "--yes", "--allow-duplicates"]);
    expect(duplicated.code, duplicated.stderr).toBe(0);
    expect(duplicated.stderr).toContain("creating new objects beside them (--allow-duplicates)");
    expect(duplicated.stdout).toContain("3 created");
    expect(objects(dir)).toHaveLength(6);
    const after = await runInProcess(dir, ["plan", "--detailed-exitcode"]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toContain("warning: the backend holds 3 objects of stack crash that state does not");
    expect(after.stderr).toContain("; they duplicate addresses state holds: to delete one, `virtform import` it under a spare address");
  });
});

describe("corrupt state", () => {
  it("the error names the newest kept snapshot that parses, what restoring it means, and the cp line that does it", async () => {
    const dir = makeWorkdir("virtform-corrupt-");
    writeProgram(dir, program);
    expect((await runInProcess(dir, ["apply", "--yes"])).code).toBe(0);
    const file = join(dir, ".virtform/state/crash.json");
    const { serial } = readJson<{ serial: number }>(file);
    writeFileSync(file, readFileSync(file, "utf8").slice(0, 200)); // a copy cut short

    const refused = await runInProcess(dir, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Error: state file ${file} is not valid JSON`);
    const snapshot = join(dir, `.virtform/state/history/crash/${serial}.json`);
    expect(refused.stderr).toContain(`The newest kept snapshot that parses is ${snapshot} (serial ${serial}, saved `);
    expect(refused.stderr).toContain(`Restoring it sets the stack's state back to serial ${serial}: objects created after it are not in it`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const cp = /Restore it with: cp (\S+) (\S+)$/m.exec(refused.stderr);
    expect(cp?.slice(1)).toEqual([snapshot, file]);

    copyFileSync(cp![1]!, cp![2]!);
    const restored = await runInProcess(dir, ["plan", "--detailed-exitcode"]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
  });
});
