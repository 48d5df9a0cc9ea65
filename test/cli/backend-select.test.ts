// How a workspace chooses its backend: --backend, VIRTFORM_BACKEND, then the stack's
// virtform.<stack>.json; bad choices and bad configs are clear errors naming the file and field.
// No libvirt host is needed: each case is refused before one is contacted.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

const PROGRAM = `import { stack } from "virtform";
export default stack("lab", (s) => {
  s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 2, memoryGiB: 4, localDiskGiB: 10 } });
  return {};
});
`;

describe("choosing the backend", () => {
  it("refuses an unknown backend", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, PROGRAM);
    const r = await runCli(dir, ["plan", "--backend", "xen"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown backend "xen"; known: emulator, libvirt');
  });

  it("names the file and field of a bad stack config", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, PROGRAM);
    writeFileSync(join(dir, "virtform.lab.json"), JSON.stringify({ backend: "libvirt", clusters: { web: ["not a uri"] } }));
    const r = await runCli(dir, ["plan"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, "virtform.lab.json")}: clusters.web.0: expected a libvirt connection URI`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("on libvirt, refuses at plan time a cluster that names no hosts", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, PROGRAM);
    const r = await runCli(dir, ["plan"], { VIRTFORM_BACKEND: "libvirt" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("infra.ts:3: cluster.web: create would fail: cluster cluster.web names no libvirt hosts");
    expect(r.stderr).toContain('"clusters": { "web": ["qemu+ssh://..."] } in the stack\'s virtform.<stack>.json');
  });

  it("on libvirt, says which host it cannot reach (no stack trace)", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, PROGRAM.replace("localDiskGiB: 10 }", 'localDiskGiB: 10, uris: ["qemu+ssh://nobody@127.0.0.1:1/session?keyfile=/nonexistent&no_verify=1"] }'));
    const r = await runCli(dir, ["plan", "--backend", "libvirt"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("infra.ts:3: cluster.web: create would fail: cannot reach libvirt at qemu+ssh://nobody@127.0.0.1:1/session: virsh exited");
    expect(r.stderr).not.toContain("keyfile"); // the key's path stays out of messages
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
