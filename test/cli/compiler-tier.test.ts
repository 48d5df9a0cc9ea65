// Which runs keep V8's optimizing compiler: only the emulator's long-running server (cli/compiler-tier.ts).
import { expect, it } from "vitest";
import { runsLong } from "../../cli/compiler-tier.ts";

it.each([
  [["plan"], false],
  [["apply", "--yes"], false],
  [["emulator", "inspect"], false],
  [["images", "build", "serve.ts"], false],
  [["plan", "serve"], false], // a program named serve
  [["emulator", "serve"], true],
  [["emulator", "serve", "--port", "0"], true],
  [["--endpoint", "http://x", "emulator", "serve"], true],
  [[], false],
])("%j runs long: %s", (args, expected) => {
  expect(runsLong(args)).toBe(expected);
});
