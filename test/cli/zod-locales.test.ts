// zod's locales but English load on first use (core/zod-locales.ts): the rewritten index exports
// every locale the real one does, and a process that rewrites it still gets each locale's messages.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { lazyLocalesIndex } from "../../core/zod-locales.ts";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";

const realIndex = readFileSync(join(repoRoot, "node_modules", "zod", "v4", "locales", "index.js"), "utf8");
const exportedNames = (source: string) => [...source.matchAll(/^export (?:\{ default as (\w+) \}|function (\w+))/gm)].map((m) => m[1] ?? m[2]);

describe("the rewritten locales index", () => {
  it("exports every locale of zod's own, English as it was", () => {
    const lazy = lazyLocalesIndex(realIndex)!;
    expect(exportedNames(lazy).sort()).toEqual(exportedNames(realIndex).sort());
    expect(exportedNames(realIndex).length).toBeGreaterThan(40);
    expect(lazy).toContain('export { default as en } from "./en.js";');
    expect(lazy).toContain('export function fr(...args) { return require("./fr.js").default(...args); }');
  });

  it.each([
    ["a line that is not a plain re-export", `${realIndex}export * from "./more.js";\n`],
    ["a locale under a name that is not an identifier", 'export { default as "fr-x" } from "./fr.js";\n'],
  ])("is not made for %s: zod's index then loads as it is", (_, source) => {
    expect(lazyLocalesIndex(source)).toBeUndefined();
  });
});

it("a process that loads them lazily has English at once and French when it asks for it", async () => {
  const dir = makeWorkdir();
  const script = join(dir, "locales.mjs");
  const url = (path: string) => JSON.stringify(new URL(path, `file://${repoRoot}`).href);
  const source = `
    const { loadZodLocalesLazily } = await import(${url("core/zod-locales.ts")});
    loadZodLocalesLazily();
    const { z } = await import(${url("node_modules/zod/index.js")});
    const message = () => z.string().min(3).safeParse("a").error.issues[0].message;
    const english = message();
    z.config(z.locales.fr());
    const french = message();
    z.config(z.core.locales.en());
    console.log(JSON.stringify({ english, french, back: message(), names: Object.keys(z.locales).length }));
  `;
  writeFileSync(script, source);
  const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: dir });
  const result = JSON.parse(stdout) as { english: string; french: string; back: string; names: number };
  expect(result).toEqual({
    english: "Too small: expected string to have >=3 characters",
    french: "Trop petit : chaîne de caractères doit avoir >=3 caractères",
    back: "Too small: expected string to have >=3 characters",
    names: exportedNames(realIndex).length,
  });
});
