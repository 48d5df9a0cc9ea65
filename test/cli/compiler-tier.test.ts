// Which runs keep V8's optimizing compiler: the emulator's long-running server and the images
// commands (cli/compiler-tier.ts); every command the rule names is one cli/main.ts has.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { keepsTurbofan } from "../../cli/compiler-tier.ts";

it.each([
  [["plan"], false],
  [["apply", "--yes"], false],
  [["emulator", "inspect"], false],
  [["plan", "serve"], false], // a program named serve
  [["plan", "images"], false], // a program named images
  [["images", "build", "serve.ts"], true],
  [["images", "lock"], true],
  [["--program-timeout", "5", "images", "resolve"], true],
  [["emulator", "serve"], true],
  [["emulator", "serve", "--port", "0"], true],
  [["--endpoint", "http://x", "emulator", "serve"], true],
  [[], false],
])("%j keeps TurboFan: %s", (args, expected) => {
  expect(keepsTurbofan(args)).toBe(expected);
});

it("knows every top-level command of cli/main.ts", () => {
  const main = readFileSync(new URL("../../cli/main.ts", import.meta.url), "utf8");
  const declared = [...main.matchAll(/\bcli\s*\.command\("([a-z-]+)"\)/g)].map((m) => m[1]);
  expect(declared.length).toBeGreaterThan(10);
  const source = readFileSync(new URL("../../cli/compiler-tier.ts", import.meta.url), "utf8");
  for (const command of declared) expect(source).toContain(`"${command}"`);
});
