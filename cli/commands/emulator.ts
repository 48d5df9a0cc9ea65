// emulator inspect: every object the embedded emulator holds, secret values redacted unless asked.
import { secretPathsOf } from "../../sdk/kinds/index.ts";
import { Workspace } from "../workspace.ts";

export async function emulatorInspectCommand(options: { json?: boolean; showSecrets?: boolean }): Promise<number> {
  const workspace = new Workspace();
  const showSecrets = options.showSecrets === true;
  const everything = (await workspace.httpBackend()?.inspect({ showSecrets })) ?? workspace.embeddedBackend().emulator.inspect({ showSecrets });
  if (options.json) {
    process.stdout.write(JSON.stringify(everything, null, 2) + "\n");
    return 0;
  }
  const { clusters, images, pools, volumes, instances, attachments } = everything;
  const section = (title: string, rows: string[]) => {
    process.stdout.write(`${title} (${rows.length})\n`);
    for (const row of rows) process.stdout.write(`  ${row}\n`);
  };
  section("clusters", Object.values(clusters).map((c) => `${c.id}  ${c.name}  ${c.spec.hypervisor}, ${c.hosts.length} hosts`));
  section("images", Object.values(images).map((i) => `${i.id}  ${i.name}  variants: ${Object.keys(i.variants).join(", ")}${secretLines(i.spec, secretPathsOf("Image", i.secretPaths))}`));
  section("pools", Object.values(pools).map((p) => `${p.id}  ${p.name}  ${p.spec.media}, ${p.luns.length} LUNs`));
  section("volumes", Object.values(volumes).map((v) => `${v.id}  ${v.name}  ${v.spec.sizeGiB} GiB${v.spec.multiAttach ? ", multi-attach" : ""}`));
  section(
    "instances",
    Object.values(instances).map(
      (i) => `${i.id}  ${i.name}  ${i.state} on ${i.hostId}, ${i.spec.vcpu} vCPU, ${i.spec.memoryGiB} GiB${secretLines(i.spec, secretPathsOf("Instance", i.secretPaths))}`,
    ),
  );
  section("attachments", Object.values(attachments).map((a) => `${a.id}  ${a.name}  ${a.device} (${a.spec.mode})`));
  return 0;
}

/** The object's secret fields, one indented line each: "(sensitive)" unless --show-secrets gave their values. */
function secretLines(spec: object, paths: readonly string[]): string {
  return paths
    .map((path) => [path, path.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], spec)] as const)
    .filter(([, value]) => value !== undefined)
    .map(([path, value]) => `\n      ${path}: ${typeof value === "string" ? value.replaceAll("\n", "\\n") : JSON.stringify(value)}`)
    .join("");
}
