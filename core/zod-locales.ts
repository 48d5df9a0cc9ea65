// zod's ES entry point imports every one of its locales (z.locales and z.core.locales: some 60
// modules) though virtform only ever uses English, zod's default. Loading them was about a sixth of
// the CPU of a short command (`virtform plan` of one resource: 0.19 s instead of 0.23 s). This
// process loads English as before and each other locale only when called: `z.locales.fr()` still
// works, for a program of the user's that shares virtform's zod. Only virtform's own copy of zod is
// rewritten; its CommonJS build, and any other copy, load as they are.
import * as nodeModule from "node:module";

/** One line of zod's locales index: `export { default as fr } from "./fr.js";`. */
const EXPORT_LINE = /^export \{ default as ([A-Za-z_$][\w$]*) \} from "(\.\/[\w-]+\.js)";$/;

/**
 * The index's text with each locale but English made a function that loads its module when first
 * called; undefined when a line is not a plain re-export (a zod this was not written for): then the
 * index loads as it is.
 */
export function lazyLocalesIndex(source: string): string | undefined {
  const lines = source.split("\n").filter((line) => line.trim() !== "");
  const out = ['import { createRequire } from "node:module";', "const require = createRequire(import.meta.url);"];
  for (const line of lines) {
    const match = EXPORT_LINE.exec(line.trim());
    if (!match) return undefined;
    const [, name, file] = match;
    out.push(name === "en" ? line.trim() : `export function ${name}(...args) { return require(${JSON.stringify(file)}).default(...args); }`);
  }
  return out.join("\n") + "\n";
}

/** For this process, before zod loads: its locales other than English load on first use. */
export function loadZodLocalesLazily(): void {
  // module.registerHooks came with Node 22.15 and 23.5: an older Node loads every locale.
  if (typeof nodeModule.registerHooks !== "function") return;
  let index: string;
  try {
    index = new URL("./v4/locales/index.js", import.meta.resolve("zod")).href;
  } catch {
    return; // zod not found from here: nothing to rewrite
  }
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      if (url !== index) return nextLoad(url, context);
      const loaded = nextLoad(url, context);
      if (loaded.source === undefined || loaded.source === null) return loaded;
      const lazy = lazyLocalesIndex(typeof loaded.source === "string" ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString("utf8"));
      return lazy === undefined ? loaded : { ...loaded, source: lazy, shortCircuit: true };
    },
  });
}
