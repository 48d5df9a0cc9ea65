// `virtform --version` (and -v) prints the package's version and exits 0, like `terraform -version`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli } from "../helpers/cli.ts";

it.each(["--version", "-v"])("virtform %s prints the version", async (flag) => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
  const result = await runCli(makeWorkdir(), [flag]);
  expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
});
