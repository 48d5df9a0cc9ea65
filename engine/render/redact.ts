// Secret fields never leave the engine in clear: every renderer goes through here.
import type { KindInfo, Value } from "../model.ts";

export const REDACTED = "(sensitive)";

export function redact(values: Record<string, Value> | null, kind: KindInfo | undefined): Record<string, Value> | null {
  if (!values || !kind || kind.secrets.length === 0) return values;
  const copy = structuredClone(values);
  for (const path of kind.secrets) {
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

export function isSecretPath(path: string, kind: KindInfo | undefined): boolean {
  return !!kind?.secrets.some((secret) => path === secret || path.startsWith(`${secret}.`));
}
