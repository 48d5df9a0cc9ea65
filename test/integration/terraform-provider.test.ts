// The real terraform binary drives the provider on the embedded emulator: an apply creates what the
// configuration says (with owner tags and the idempotency token), and bad input stops at validation
// with diagnostics on the attribute; a snapshot and a clone of it; a swap on a full host; a protected
// volume's destroy refused at plan time. The full lifecycle (updates, replacement, drift, import, destroy)
// is test/integration/terraform.test.ts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { repoRoot } from "../helpers/cli.ts";
import { PROVIDER_BLOCK, terraform, terraformAvailable, terraformWorkdir } from "../terraform/terraform.ts";

const available = terraformAvailable();

describe.skipIf(!available)("terraform with the virtform provider", () => {
  it("applies a configuration to the embedded emulator", async () => {
    const dir = terraformWorkdir(`${PROVIDER_BLOCK}
resource "virtform_storage_pool" "fast" {
  media   = "nvme"
  devices = [{ size_gib = 100 }]
}
resource "virtform_cluster" "web" {
  hypervisor = "hosted"
  hosts      = { count = 2, vcpu = 16, memory_gib = 64, local_disk_gib = 100 }
}
resource "virtform_image" "app" {
  base     = "debian-12"
  packages = ["tomcat10"]
  variants = { small = { config = { heapMiB = 256 } } }
}
data "virtform_image_variant" "small" {
  image   = virtform_image.app.id
  variant = "small"
}
resource "virtform_instance" "app" {
  count   = 2
  cluster = virtform_cluster.web.id
  group   = "app"
  index   = count.index
  image   = { image = virtform_image.app.id, variant = "small", digest = data.virtform_image_variant.small.digest }
  vcpu       = 2
  memory_gib = 4
  user_data  = "#cloud-config"
}
resource "virtform_volume" "data" {
  pool         = virtform_storage_pool.fast.id
  size_gib     = 10
  multi_attach = true
}
resource "virtform_attachment" "data" {
  count    = 2
  volume   = virtform_volume.data.id
  instance = virtform_instance.app[count.index].id
}
resource "virtform_snapshot" "data" {
  volume = virtform_volume.data.id
}
resource "virtform_volume" "clone" {
  pool     = virtform_storage_pool.fast.id
  size_gib = 10
  source   = virtform_snapshot.data.id
}
output "devices" {
  value = virtform_attachment.data[*].device
}
output "closure" {
  value = data.virtform_image_variant.small.packages
}
`);
    const applied = await terraform(dir, ["apply", "-auto-approve"]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete! Resources: 10 added/);
    // The device the backend chose is the attachment's device attribute.
    expect(applied.stdout).toMatch(/devices = \[\s+"vdb",\s+"vdb",\s+\]/);
    // A secret stays out of the plan text.
    expect(applied.stdout).toMatch(/user_data\s+= \(sensitive value\)/);

    const data = Emulator.readDataDir(join(dir, ".virtform", "emulator"));
    const instances = Object.values(data.instances);
    expect(instances.map((i) => [i.spec.group, i.spec.index, i.spec.vcpu, i.spec.localDiskGiB]).sort()).toEqual([
      ["app", 0, 2, 0],
      ["app", 1, 2, 0],
    ]);
    const [image] = Object.values(data.images);
    // The data source reads the variant the emulator built: its digest and closure.
    expect(image!.variants.small!.packages).toEqual(["tomcat10"]);
    expect(applied.stdout).toMatch(/closure = tolist\(\[\s+"tomcat10",\s+\]\)/);
    expect(instances[0]!.spec.image).toEqual({ image: image!.id, variant: "small", digest: image!.variants.small!.digest });
    // A snapshot of the volume, and a volume cloned from it.
    const pool = Object.keys(data.pools)[0];
    const [snapshot] = Object.values(data.snapshots);
    expect(Object.values(data.volumes).map((v) => v.spec)).toEqual([
      { pool, sizeGiB: 10, multiAttach: true, deleteProtection: false },
      { pool, sizeGiB: 10, multiAttach: false, deleteProtection: false, source: snapshot!.id },
    ]);
    expect(snapshot!.spec).toEqual({ volume: Object.values(data.volumes)[0]!.id, deleteProtection: false });
    expect(Object.values(data.attachments).map((a) => a.spec.mode)).toEqual(["read-write", "read-write"]);
    // Owner tags name Terraform's working directory; every create went with an idempotency token.
    for (const object of [...instances, ...Object.values(data.volumes), ...Object.values(data.clusters)]) {
      expect(object.tags).toMatchObject({ "virtform:stack": `terraform:${dir}`, "virtform:lineage": "terraform" });
    }
    expect(Object.keys(data.tokens)).toHaveLength(10);
  });

  it("swaps an instance on a full host in one plan and apply (the destroy makes the room), and refuses a protected volume's destroy at plan time", async () => {
    const config = (instance: string, protectedVolume: boolean) => `${PROVIDER_BLOCK}
provider "virtform" {
  data_dir = "emulator-data"
}
resource "virtform_cluster" "one" {
  hypervisor = "hosted"
  hosts      = { count = 1, vcpu = 4, memory_gib = 8, local_disk_gib = 10 } # room for one instance (a host keeps some for itself)
}
resource "virtform_image" "app" {
  base     = "debian-12"
  variants = { a = {} }
}
data "virtform_image_variant" "a" {
  image   = virtform_image.app.id
  variant = "a"
}
resource "virtform_instance" "${instance}" {
  cluster    = virtform_cluster.one.id
  group      = "${instance}"
  index      = 0
  image      = { image = virtform_image.app.id, variant = "a", digest = data.virtform_image_variant.a.digest }
  vcpu       = 3
  memory_gib = 4
}
resource "virtform_storage_pool" "p" {
  media   = "ssd"
  devices = [{ size_gib = 10 }]
}
${protectedVolume ? `resource "virtform_volume" "kept" {\n  pool              = virtform_storage_pool.p.id\n  size_gib          = 1\n  delete_protection = true\n}` : ""}
`;
    const dir = terraformWorkdir(config("first", true));
    expect((await terraform(dir, ["apply", "-auto-approve"])).code).toBe(0);
    writeFileSync(join(dir, "main.tf"), config("second", true));
    // Terraform plans the create and the destroy in no set order; the create waits for the destroy.
    const planned = await terraform(dir, ["plan", "-detailed-exitcode"]);
    expect(planned.stderr).toBe("");
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("Plan: 1 to add, 0 to change, 1 to destroy.");
    const applied = await terraform(dir, ["apply", "-auto-approve"]);
    expect(applied.stderr).toBe("");
    // The embedded emulator's data where the provider block says.
    expect(existsSync(join(dir, ".virtform"))).toBe(false);
    const data = () => Emulator.readDataDir(join(dir, "emulator-data"));
    expect(Object.values(data().instances).map((i) => i.spec.group)).toEqual(["second"]);
    // The protected volume's destroy is refused by the plan, before anything is destroyed.
    writeFileSync(join(dir, "main.tf"), config("second", false));
    const refused = await terraform(dir, ["destroy", "-auto-approve"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.replace(/\s+/g, " ")).toMatch(/Error: This delete would fail the volume vol-\w+ has delete protection: set delete_protection = false and apply first \(`terraform state list -id=vol-\w+` names its resource\)/);
    expect(Object.values(data().instances)).toHaveLength(1);
    expect(Object.values(data().volumes)).toHaveLength(1);
  });

  it("reports bad input as diagnostics on the attribute, before anything is made", async () => {
    const dir = terraformWorkdir(`${PROVIDER_BLOCK}
resource "virtform_storage_pool" "p" {
  media   = "ssd"
  devices = [{ size_gib = -1 }]
}
resource "virtform_cluster" "c" {
  hypervisor = "dual-mode"
  hosts      = { count = 1, vcpu = 4, memory_gib = 16, local_disk_gib = 10 }
  overcommit = { memory = 2 }
}
resource "virtform_image" "i" {
  base     = "ubuntu"
  variants = { a = {} }
}
`);
    const planned = await terraform(dir, ["plan"]);
    expect(planned.code).toBe(1);
    // Terraform wraps its messages at 78 columns.
    const text = planned.stderr.replace(/\s+/g, " ");
    expect(text).toContain('Error: Invalid devices[0].size_gib with virtform_storage_pool.p, on main.tf line 9, in resource "virtform_storage_pool" "p": 9: devices = [{ size_gib = -1 }]');
    expect(text).toContain("Too small: expected number to be >=1 MiB (1/1024 GiB) (the StoragePool field devices[0].sizeGiB)");
    expect(text).toContain('Error: Invalid overcommit.memory with virtform_cluster.c, on main.tf line 14, in resource "virtform_cluster" "c": 14: overcommit = { memory = 2 }');
    expect(text).toContain("dual-mode (paravirtualized) hosts cannot overcommit memory (got 2)");
    // A top-level attribute: Terraform points at its own line.
    expect(text).toContain('on main.tf line 17, in resource "virtform_image" "i": 17: base = "ubuntu"');
    expect(text).toContain('unknown base "ubuntu"; known: debian-12 (the Image field base)');
    expect(planned.stderr).not.toMatch(/bug|at .*\.ts:\d+/);
    // Validation stops the run before the provider is configured: no emulator data, no objects.
    expect(existsSync(join(dir, ".virtform"))).toBe(false);
  });

  it("locks an image's variants by the lock a native program made: lockfile in the provider block, lock_key on the image", async () => {
    const lockPath = join(repoRoot, "examples", "java-appserver", "virtform.lock");
    const lockName = lockPath; // outside the working directory: named by its whole path
    const image = (light: string, heavy: string) => `${PROVIDER_BLOCK}
provider "virtform" {
  lockfile = "${lockPath}"
}
resource "virtform_image" "appserver" {
  lock_key = "image.appserver"
  base     = "debian-12"
  packages = ["openjdk-17-jre-headless", "tomcat10"]
  config   = { threadPool = 50 }
  variants = {
    light    = { config = { heapMiB = ${light}, threadPool = 25 } }
    moderate = { config = { heapMiB = 2048 } }
    heavy    = { config = { heapMiB = 8192, threadPool = 200 }, packages = [${heavy}] }
  }
}
`;
    const dir = terraformWorkdir(image("512", '"prometheus-node-exporter"'));
    const applied = await terraform(dir, ["apply", "-auto-approve"]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    // The emulator's image carries the lock's package sets, and its variants the lock's digests.
    type Entry = { digest: string; packages: { name: string; version: string; base?: boolean }[] };
    const entries = (JSON.parse(readFileSync(lockPath, "utf8")) as { images: Record<string, Record<string, Entry>> }).images["image.appserver"]!;
    const [made] = Object.values(Emulator.readDataDir(join(dir, ".virtform", "emulator")).images);
    const locked = (made!.spec as { locked?: Record<string, { digest: string; packages: Record<string, string> }> }).locked!;
    expect(Object.keys(locked).sort()).toEqual(["heavy", "light", "moderate"]);
    for (const [variant, entry] of Object.entries(entries)) {
      expect(locked[variant]!.digest).toBe(entry.digest);
      expect(locked[variant]!.packages).toEqual(Object.fromEntries(entry.packages.filter((p) => !p.base).map((p) => [p.name, p.version])));
      expect(made!.variants[variant]!.digest).toBe(entry.digest);
    }
    expect((await terraform(dir, ["plan", "-detailed-exitcode"])).code).toBe(0);

    // A config-only change keeps the locked packages (a warning); a changed package set is an error
    // on the variant: the provider resolves no packages.
    const stale = terraformWorkdir(image("1024", '"htop"'));
    const planned = await terraform(stale, ["plan"]);
    expect(planned.code).toBe(1);
    // Terraform writes warnings to stdout, errors to stderr.
    const text = `${planned.stdout} ${planned.stderr}`.replace(/\s+/g, " ");
    expect(text).toContain(`Warning: ${lockName} is stale for image.appserver:light`);
    expect(text).toContain(`Error: ${lockName} is stale for image.appserver:heavy with virtform_image.appserver`);
    expect(text).toContain("its packages or base changed since it was locked; the provider resolves no packages");
    expect(planned.stderr).not.toMatch(/bug|at .*\.ts:\d+/);
  });
});
