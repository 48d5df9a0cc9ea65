import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites spawn the CLI and emulator processes; two cores, so keep forks few.
    pool: "forks",
    maxWorkers: 2,
  },
});
