// A setup file (vitest.config.ts): the working directories a test file made are removed after it,
// so that test runs do not fill /tmp (thousands of emulator data dirs a run before).
import { afterAll } from "vitest";
import { removeWorkdirs } from "./cli.ts";

afterAll(() => removeWorkdirs());
