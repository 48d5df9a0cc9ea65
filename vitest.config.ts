import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Programs a test loads inside its own process import `virtform`, as the CLI's resolve hook does.
  resolve: { alias: [{ find: /^virtform$/, replacement: fileURLToPath(new URL("./sdk/index.ts", import.meta.url)) }] },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/integration/**", "**/node_modules/**"],
    // Programs planned without a lock resolve their images against apt's lists: every test, in
    // process or through the CLI, sees a tiny stand-in for them, fast and the same on every machine.
    // A test that wants the real lists sets VIRTFORM_APT_LISTS itself.
    env: { VIRTFORM_APT_LISTS: fileURLToPath(new URL("./test/fixtures/apt-lists", import.meta.url)) },
    setupFiles: ["test/helpers/workdir-cleanup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites spawn the CLI and emulator processes; two cores, so keep forks few.
    pool: "forks",
    maxWorkers: 2,
    // A fork runs file after file: a new one per file cost ~0.46 s each (88 files), more than all of
    // the isolation bought; every test makes its own working directory and restores what it changes.
    isolate: false,
  },
});
