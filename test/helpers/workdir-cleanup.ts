// A setup file (vitest.config.ts): after each test file, the CLI runs a timed-out test left are
// stopped (one spun on a core for an hour) and the working directories it made are removed, so that
// test runs do not fill /tmp (thousands of emulator data dirs a run before).
import { afterAll } from "vitest";
import { endRuns, removeWorkdirs } from "./cli.ts";

afterAll(() => {
  endRuns();
  removeWorkdirs();
});
