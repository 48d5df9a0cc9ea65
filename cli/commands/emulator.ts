// emulator inspect: every object the embedded emulator holds, secret values redacted unless asked.
import type { Collection } from "../../emulator/data.ts";
import type { Emulator } from "../../emulator/emulator.ts";
import { secretPathsOf } from "../../sdk/kinds/index.ts";
import { Workspace } from "../workspace.ts";

export async function emulatorInspectCommand(options: { json?: boolean; showSecrets?: boolean }): Promise<number> {
  const workspace = new Workspace();
  const showSecrets = options.showSecrets === true;
  const everything = (await (await workspace.httpBackend())?.inspect({ showSecrets })) ?? workspace.embeddedBackend().emulator.inspect({ showSecrets });
  if (options.json) {
    process.stdout.write(JSON.stringify(everything, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(inspectText(everything));
  return 0;
}

type Inspected = ReturnType<Emulator["inspect"]>;

/** One line per object, by collection; typed over every collection, so a new kind cannot be left out. */
const ROWS: { [C in Collection]: (object: Inspected[C][string]) => string } = {
  clusters: (c) => `${c.id}  ${c.name}  ${c.spec.hypervisor}, ${c.hosts.length} hosts`,
  images: (i) => `${i.id}  ${i.name}  variants: ${Object.keys(i.variants).join(", ")}${secretLines(i.spec, secretPathsOf("Image", i.secretPaths))}`,
  pools: (p) => `${p.id}  ${p.name}  ${p.spec.media}, ${p.luns.length} LUNs`,
  volumes: (v) => `${v.id}  ${v.name}  ${v.spec.sizeGiB} GiB${v.spec.multiAttach ? ", multi-attach" : ""}`,
  snapshots: (s) => `${s.id}  ${s.name}  ${s.sizeGiB} GiB of ${s.spec.volume}`,
  instances: (i) => `${i.id}  ${i.name}  ${i.state} on ${i.hostId}, ${i.spec.vcpu} vCPU, ${i.spec.memoryGiB} GiB${secretLines(i.spec, secretPathsOf("Instance", i.secretPaths))}`,
  attachments: (a) => `${a.id}  ${a.name}  ${a.device} (${a.spec.mode})`,
};

/** `emulator inspect` without --json: a section per collection. */
export function inspectText(everything: Inspected): string {
  let text = "";
  for (const collection of Object.keys(ROWS) as Collection[]) {
    const row = ROWS[collection] as (object: unknown) => string;
    const rows = Object.values(everything[collection]).map(row);
    text += `${collection} (${rows.length})\n`;
    for (const line of rows) text += `  ${line}\n`;
  }
  return text;
}

/** The object's secret fields, one indented line each: "(sensitive)" unless --show-secrets gave their values. */
function secretLines(spec: object, paths: readonly string[]): string {
  return paths
    .map((path) => [path, path.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], spec)] as const)
    .filter(([, value]) => value !== undefined)
    .map(([path, value]) => `\n      ${path}: ${typeof value === "string" ? value.replaceAll("\n", "\\n") : JSON.stringify(value)}`)
    .join("");
}
