// CDKTF bindings generated from the provider's schema (npm run gen:cdktf) compile, synthesize a
// stack, and terraform applies that stack with virtform's provider: the emulator holds its objects.
import { execFile } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { generateCdktfBindings } from "../../provider/terraform/cdktf.ts";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";
import { terraformAvailable } from "../terraform/terraform.ts";

const run = promisify(execFile);

const PROGRAM = `import { App, Fn, TerraformOutput, TerraformStack, Token } from "cdktf";
import type { Construct } from "constructs";
import { Attachment } from "./.gen/providers/virtform/attachment";
import { Cluster } from "./.gen/providers/virtform/cluster";
import { Image } from "./.gen/providers/virtform/image";
import { Instance } from "./.gen/providers/virtform/instance";
import { VirtformProvider } from "./.gen/providers/virtform/provider";
import { StoragePool } from "./.gen/providers/virtform/storage-pool";
import { Volume } from "./.gen/providers/virtform/volume";

class Shop extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new VirtformProvider(this, "virtform", {});
    const fast = new StoragePool(this, "fast", { media: "ssd", devices: [{ sizeGib: 1024 }], overcommit: 2 });
    const image = new Image(this, "appserver", { base: "debian-12", packages: ["tomcat10"], variants: { light: { config: { heapMiB: 512 } } } });
    const web = new Cluster(this, "web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGib: 64, localDiskGib: 100 } });
    const members = [0, 1].map((index) => new Instance(this, \`app-\${index}\`, {
      cluster: web.id,
      group: "app",
      index,
      vcpu: 2,
      memoryGib: 4,
      // A map of objects in the state: CDKTF's ComplexMap.get writes an unquoted key, lookupNested does not.
      image: { image: image.id, variant: "light", digest: Token.asString(Fn.lookupNested(image.variantsOutput, ["light", "digest"])) },
    }));
    const data = new Volume(this, "data", { pool: fast.id, sizeGib: 10, multiAttach: true });
    members.forEach((member, i) => new Attachment(this, \`data-\${i}\`, { volume: data.id, instance: member.id, mode: "read-only" }));
    new TerraformOutput(this, "volume", { value: data.id });
  }
}

const app = new App({ outdir: "cdktf.out" });
new Shop(app, "shop");
app.synth();
`;

describe.skipIf(!terraformAvailable())("CDKTF bindings", () => {
  it("compile, synthesize a stack, and terraform applies it with virtform's provider", async () => {
    const dir = makeWorkdir("virtform-cdktf-");
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    await generateCdktfBindings(join(dir, ".gen"));
    writeFileSync(join(dir, "main.ts"), PROGRAM);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "commonjs", strict: true, skipLibCheck: true, outDir: "dist", types: ["node"] }, include: ["main.ts", ".gen/**/*.ts"] }),
    );
    await run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir });
    await run(process.execPath, [join(dir, "dist/main.js")], { cwd: dir });

    // CDKTF writes a local backend, which needs `terraform init`: offline, it finds the provider in a
    // filesystem mirror; dev_overrides then run this checkout's provider.
    const platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;
    const mirror = join(dir, `mirror/registry.terraform.io/virtform/virtform/0.1.0/${platform}`);
    mkdirSync(mirror, { recursive: true });
    symlinkSync(join(repoRoot, "bin/terraform-provider-virtform"), join(mirror, "terraform-provider-virtform"));
    writeFileSync(
      join(dir, "cli.tfrc"),
      `provider_installation {
  dev_overrides {
    "registry.terraform.io/virtform/virtform" = "${join(repoRoot, "bin")}"
  }
  filesystem_mirror {
    path    = "${join(dir, "mirror")}"
    include = ["registry.terraform.io/virtform/virtform"]
  }
  direct {
    exclude = ["registry.terraform.io/virtform/virtform"]
  }
}
`,
    );
    const stack = join(dir, "cdktf.out/stacks/shop");
    const env = { ...process.env, TF_CLI_CONFIG_FILE: join(dir, "cli.tfrc"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
    await run("terraform", ["init", "-input=false", "-no-color"], { cwd: stack, env });
    const applied = await run("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], { cwd: stack, env });
    expect(applied.stdout).toContain("Apply complete! Resources: 8 added, 0 changed, 0 destroyed.");

    const data = Emulator.readDataDir(join(stack, ".virtform/emulator"));
    const [image] = Object.values(data.images);
    expect(image!.spec.variants).toEqual({ light: { packages: [], config: { heapMiB: 512 } } });
    const instances = Object.values(data.instances);
    expect(instances.map((i) => [i.spec.index, i.spec.image]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      [0, 1].map((index) => [index, { image: image!.id, variant: "light", digest: image!.variants.light!.digest }]),
    );
    const [volume] = Object.values(data.volumes);
    expect(applied.stdout).toContain(`volume = "${volume!.id}"`);
    expect(Object.values(data.attachments).map((a) => [a.spec.volume, a.spec.mode]).sort()).toEqual([
      [volume!.id, "read-only"],
      [volume!.id, "read-only"],
    ]);
  }, 300_000);
});
