// What the plugin answers before its service loads: every gRPC path it serves, each with its reply
// when that never depends on the request or the configuration (the schema, the metadata, the health
// check, Shutdown's empty reply), or that it is a server stream left open, or that it needs the
// service. Terraform's first launch of every command asks for the schema only, and deriving it
// (zod, the kinds, the schema derivation, protobufjs) was most of that launch's start-up, all on
// Terraform's critical path. `npm run gen:terraform` writes fixed-replies.json from the derived
// service (the kinds stay the single source of truth); `--check` and a test fail when it is stale.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Method } from "./grpc-server.ts";

export const FIXED_REPLIES = new URL("./fixed-replies.json", import.meta.url);

/** The paths whose reply is the same bytes whatever the request and the provider's configuration. */
export const CONSTANT_PATHS = [
  "/tfplugin6.Provider/GetProviderSchema",
  "/tfplugin6.Provider/GetMetadata",
  "/grpc.health.v1.Health/Check",
  "/plugin.GRPCController/Shutdown",
] as const;

/** One path's entry: the reply's bytes in base64, a stream left open, or a call for the service. */
export type FixedEntry = { reply: string } | { stream: true } | { service: true };

/** The file's contents, derived from the full method table (the one the service answers with). */
export async function deriveFixedReplies(methods: ReadonlyMap<string, Method>): Promise<string> {
  const entries: Record<string, FixedEntry> = {};
  for (const [path, method] of [...methods].sort(([a], [b]) => a.localeCompare(b))) {
    if (method.openStream) entries[path] = { stream: true };
    else if ((CONSTANT_PATHS as readonly string[]).includes(path)) {
      entries[path] = { reply: Buffer.from(method.encode(await method.call!(method.decode(new Uint8Array())))).toString("base64") };
    } else entries[path] = { service: true };
  }
  return `${JSON.stringify(entries, null, 1)}\n`;
}

/** The generated file, as written. */
export function readFixedReplies(): Map<string, FixedEntry> {
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(FIXED_REPLIES, "utf8")) as Record<string, FixedEntry>));
  } catch (err) {
    // It ships with the plugin: missing or damaged, the installation is broken, not the user's input.
    throw new Error(`bug in terraform-provider-virtform: ${fileURLToPath(FIXED_REPLIES)} cannot be read (${err instanceof Error ? err.message : String(err)}); reinstall virtform, or run npm run gen:terraform in its repository`, { cause: err });
  }
}

/**
 * The methods that need no service: a fixed reply (its request is not read) or a stream left open.
 * `onCall` is told each call's path (Shutdown's exit).
 */
export function fixedMethods(entries: ReadonlyMap<string, FixedEntry>, onCall: (path: string) => void): Map<string, Method> {
  const methods = new Map<string, Method>();
  for (const [path, entry] of entries) {
    const base = { decode: () => undefined, encode: (reply: unknown) => reply as Uint8Array };
    if ("stream" in entry) methods.set(path, { ...base, openStream: true });
    else if ("reply" in entry) {
      const bytes = Buffer.from(entry.reply, "base64");
      methods.set(path, { ...base, call: async () => (onCall(path), bytes) });
    }
  }
  return methods;
}
