import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Programs a test loads inside its own process import `virtform`, as the CLI's resolve hook does.
  resolve: { alias: [{ find: /^virtform$/, replacement: fileURLToPath(new URL("./sdk/index.ts", import.meta.url)) }] },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/integration/**", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites spawn the CLI and emulator processes; two cores, so keep forks few.
    pool: "forks",
    maxWorkers: 2,
  },
});
