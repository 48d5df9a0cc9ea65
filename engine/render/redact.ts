// Secret fields never leave the engine in clear: every renderer goes through here. A resource's
// secret paths are its kind's secret fields plus the values the program wrapped with secret().
import type { KindInfo, Value } from "../model.ts";
import { mapPaths } from "../values.ts";

export const REDACTED = "(sensitive)";

export function secretPaths(kind: KindInfo | undefined, extra: readonly string[] | undefined = []): readonly string[] {
  return [...(kind?.secrets ?? []), ...extra];
}

export function redact(values: Record<string, Value> | null, paths: readonly string[]): Record<string, Value> | null {
  return values && mapPaths(values, paths, () => REDACTED);
}

export function isSecretPath(path: string, paths: readonly string[]): boolean {
  return paths.some((secret) => path === secret || path.startsWith(`${secret}.`) || secret.startsWith(`${path}.`));
}
