// A stack's backend settings: `virtform.<stack>.json` in the working directory, so one program runs
// on the embedded emulator locally and on libvirt in production (a stack per place):
//   { "backend": "libvirt", "clusters": { "web": ["qemu+ssh://admin@host1/system", ...] }, "poolRoot": "/var/lib/virtform" }
// `--backend` (or VIRTFORM_BACKEND) overrides "backend".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CliError } from "./cli-error.ts";

export const backendNames = ["emulator", "libvirt"] as const;
export type BackendName = (typeof backendNames)[number];

const uri = z.string().regex(/^[a-z0-9+]+:\/\/\S*$/, 'expected a libvirt connection URI like "qemu:///system"');

export const stackConfigSchema = z
  .object({
    backend: z.enum(backendNames).optional().describe("Which backend this stack's objects live in; the embedded emulator when absent"),
    clusters: z.record(z.string(), z.array(uri).min(1)).optional().describe("Cluster name -> libvirt connection URIs, overriding the program's hosts.uris"),
    poolRoot: z.string().startsWith("/").optional().describe("Directory on each libvirt host under which virtform makes its dir pools (default /var/tmp)"),
  })
  .strict();

export type StackConfig = z.output<typeof stackConfigSchema>;

export function stackConfigPath(cwd: string, stack: string): string {
  return join(cwd, `virtform.${stack}.json`);
}

/** The stack's config, or an empty one when it has no file. */
export function readStackConfig(cwd: string, stack: string): StackConfig {
  const file = stackConfigPath(cwd, stack);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = stackConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(`${file}: ${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
  }
  return parsed.data;
}
