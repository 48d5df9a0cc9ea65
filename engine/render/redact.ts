// Secret fields never leave the engine in clear: every renderer goes through here. A resource's
// secret paths are its kind's secret fields plus the values the program wrapped with secret().
import type { KindInfo, Value } from "../model.ts";

export const REDACTED = "(sensitive)";

export function secretPaths(kind: KindInfo | undefined, extra: readonly string[] | undefined = []): readonly string[] {
  return [...(kind?.secrets ?? []), ...extra];
}

export function redact(values: Record<string, Value> | null, paths: readonly string[]): Record<string, Value> | null {
  if (!values || paths.length === 0) return values;
  const copy = structuredClone(values);
  for (const path of paths) {
    const parts = path.split(".");
    let node: Record<string, Value> | undefined = copy;
    for (const part of parts.slice(0, -1)) {
      const next: Value | undefined = node?.[part];
      node = typeof next === "object" && next !== null && !Array.isArray(next) ? next : undefined;
    }
    const last = parts.at(-1)!;
    if (node && node[last] !== undefined && node[last] !== null) node[last] = REDACTED;
  }
  return copy;
}

export function isSecretPath(path: string, paths: readonly string[]): boolean {
  return paths.some((secret) => path === secret || path.startsWith(`${secret}.`) || secret.startsWith(`${path}.`));
}
