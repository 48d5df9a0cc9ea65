// A plan loads only what planning on the embedded emulator needs (issue 14): the libvirt backend,
// the HTTP client, the image builder and the terminal prompt are loaded by the commands that use
// them, not at every plan's start; nor the data plane's block layer (no store is opened) or, for a
// program without images, the package resolver; of zod's locales, English alone (core/zod-locales.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";

it("plan on the embedded emulator does not load the other backends, the image builder or the block layer", async () => {
  const dir = makeWorkdir();
  writeProgram(
    dir,
    `import { stack } from "virtform";
export default stack("lean", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 100 }] });
  pool.volume("data", { sizeGiB: 10 });
  s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
});
`,
  );
  const log = join(dir, "modules.txt");
  const hook = join(repoRoot, "test", "fixtures", "module-log", "log-modules.mjs");
  const result = await runCli(dir, ["plan"], { NODE_OPTIONS: `--import=${hook}`, MODULE_LOG: log });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain("volume.data");
  const loaded = readFileSync(log, "utf8").split("\n").filter(Boolean).map((url) => url.replace(`file://${repoRoot}`, ""));
  // What the log holds: the plan's own modules were seen.
  expect(loaded).toContain("engine/rehearse.ts");
  expect(loaded).toContain("provider/embedded-backend.ts");
  const unwanted = loaded.filter((m) =>
    /^(provider\/libvirt\/|provider\/http-backend\.ts|images\/build\/builder\.ts|cli\/commands\/images-build\.ts|emulator\/block\/thin-pool\.ts|images\/lock-context\.ts)|^node:readline|^node_modules\/zod\/v4\/locales\/(?!index\.js$|en\.js$)/.test(m),
  );
  expect(loaded).toContain("node_modules/zod/v4/locales/en.js");
  expect(unwanted).toEqual([]);
});
