import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

// `npm run test:integration`: suites that need the system's package mirror lists, root, daemons or
// real VMs. .ci/run runs it after `npm test`.
export default defineConfig({
  ...base,
  // The system's own apt lists here, not the fast suite's stand-in.
  test: { ...base.test, env: {}, include: ["test/integration/**/*.test.ts"], exclude: ["**/node_modules/**"] },
});
