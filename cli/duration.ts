// Durations as the CLI's options take them: 30s, 2m, 500ms, or a bare number of seconds.
import { CliError } from "./cli-error.ts";

export function parseDuration(text: string | undefined): number {
  if (!text) return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new CliError(`invalid duration "${text}": use e.g. 30s, 2m or 500ms`);
  const n = Number(match[1]);
  return match[2] === "ms" ? n : match[2] === "m" ? n * 60_000 : n * 1000;
}
