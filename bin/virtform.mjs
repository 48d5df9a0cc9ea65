#!/usr/bin/env -S node --max-semi-space-size=4
// virtform's command line. The CLI is TypeScript that Node runs with its own type stripping
// (tsconfig's erasableSyntaxOnly keeps it strippable), and V8's compile cache on disk lets later
// runs skip compiling it. Node does not strip types under node_modules, so an installed copy of
// virtform registers tsx's loader first.
// A run is a short batch job: a young generation of at most 4 MiB per semi-space keeps peak memory
// near what is live, at no cost in time (bench/engine, BENCHMARKS.md). V8 otherwise sizes it by the
// machine's memory: on a 24 GiB machine the new space grows to 128 MiB.
// A command does without V8's optimizing compiler, which does not pay back in a short run
// (cli/compiler-tier.ts); set from here, as the shebang's flags are the same for every command.
// zod's locales but English load when first used, not at start (core/zod-locales.ts).
import { enableCompileCache } from "node:module";

enableCompileCache();
if (import.meta.url.includes("/node_modules/")) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { loadZodLocalesLazily } = await import("../core/zod-locales.ts");
loadZodLocalesLazily();
const { chooseCompilerTier } = await import("../cli/compiler-tier.ts");
chooseCompilerTier(process.argv.slice(2));
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
