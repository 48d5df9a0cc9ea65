// `virtform refresh` changes no resource, so a protected resource in state is no reason to refuse it
// (it was planned against an empty program, which read as deleting everything protected).
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";

describe("refresh with a protected resource in state", () => {
  it("refreshes, and changes nothing", async () => {
    const dir = makeWorkdir("virtform-refresh-protected-");
    writeProgram(
      dir,
      `import { stack } from "virtform";
export default stack("keep", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] });
  pool.volume("logs", { sizeGiB: 1 }, { protect: true });
});
`,
    );
    expect((await runCli(dir, ["apply", "--yes"])).code).toBe(0);
    const refreshed = await runCli(dir, ["refresh"]);
    expect(refreshed.stderr).not.toContain("protected");
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stdout).toContain("Refresh complete");
    const plan = await runCli(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });
});
