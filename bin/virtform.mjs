#!/usr/bin/env node
// virtform's command line. Programs are TypeScript, so tsx's loader is registered before anything
// else is imported: the CLI and the user's infra.ts then load the same way.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
