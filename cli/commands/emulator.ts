// emulator inspect: every object the embedded emulator holds.
import { Workspace } from "../workspace.ts";

export async function emulatorInspectCommand(options: { json?: boolean }): Promise<number> {
  const workspace = new Workspace();
  const everything = (await workspace.httpBackend()?.inspect()) ?? workspace.embeddedBackend().emulator.inspect();
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
  section("images", Object.values(images).map((i) => `${i.id}  ${i.name}  variants: ${Object.keys(i.variants).join(", ")}`));
  section("pools", Object.values(pools).map((p) => `${p.id}  ${p.name}  ${p.spec.media}, ${p.luns.length} LUNs`));
  section("volumes", Object.values(volumes).map((v) => `${v.id}  ${v.name}  ${v.spec.sizeGiB} GiB${v.spec.multiAttach ? ", multi-attach" : ""}`));
  section("instances", Object.values(instances).map((i) => `${i.id}  ${i.name}  ${i.state} on ${i.hostId}, ${i.spec.vcpu} vCPU, ${i.spec.memoryGiB} GiB`));
  section("attachments", Object.values(attachments).map((a) => `${a.id}  ${a.name}  ${a.device} (${a.spec.mode})`));
  return 0;
}
