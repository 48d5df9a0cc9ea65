// One process at a time keeps an emulator's data open: while `virtform emulator serve` runs, a
// command that would embed the same data is refused and pointed at the API.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

describe("emulator data lock", () => {
  it("refuses the embedded emulator while serve holds the data, and works through --endpoint", async () => {
    const dir = makeWorkdir();
    const server = spawn(process.execPath, [join(repoRoot, "bin/virtform.mjs"), "emulator", "serve", "--port", "0", "--token", "t0k3n"], { cwd: dir });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let seen = "";
        server.stdout.on("data", (chunk: Buffer) => {
          seen += chunk.toString();
          const match = /VIRTFORM_ENDPOINT=(\S+)/.exec(seen);
          if (match) resolve(match[1]!);
        });
        server.on("exit", (code) => reject(new Error(`serve exited ${code}: ${seen}`)));
      });
      const embedded = await runCli(dir, ["emulator", "inspect"]);
      expect(embedded.code).toBe(1);
      expect(embedded.stderr).toMatch(/the emulator data in .* is in use by .*emulator serve.*pass --endpoint URL or set VIRTFORM_ENDPOINT/);
      const served = await runCli(dir, ["emulator", "inspect", "--json"], { VIRTFORM_ENDPOINT: endpoint, VIRTFORM_TOKEN: "t0k3n" });
      expect(served.code, served.stderr).toBe(0);
      expect(JSON.parse(served.stdout)).toHaveProperty("clusters");
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.on("exit", r));
    }
    // Once serve has stopped, the embedded emulator is free again.
    expect((await runCli(dir, ["emulator", "inspect"])).code).toBe(0);
  });

  it("is held for a command's run, not for the life of the process that ran it", async () => {
    const dir = makeWorkdir();
    writeProgram(dir, `import { stack } from "virtform";
export default stack("held", (s) => { s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] }); });
`);
    // This process runs the command (the CLI in process, as an embedding would), then another process takes the data.
    const applied = await runInProcess(dir, ["apply", "--yes"]);
    expect(applied.code, applied.stderr).toBe(0);
    const other = await runCli(dir, ["emulator", "inspect"]);
    expect(other.stderr).not.toContain("is in use by");
    expect(other.code).toBe(0);
  });
});
