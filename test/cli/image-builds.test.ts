// plan and apply against the layer cache, through the real binary: plan lists the locked variants
// whose image is not built, apply --require-images refuses with the command to run, and once the
// cache holds the layers (written with the builder's own cache functions and records, as a build
// leaves them; the real build + apply is in test/integration/images-build.test.ts) apply goes
// ahead, the image's outputs carry each variant's artifact and instances the image digest they boot.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitLayer, layerImage, stagingDir } from "../../images/build/layer-cache.ts";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";
import { HELLO_IMAGE, helloLayers, writeHelloLock } from "../helpers/hello-image.ts";


const program = `import { stack } from "virtform";
export default stack("built", (s) => {
  const img = s.image("hello", ${JSON.stringify(HELLO_IMAGE)});
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 16, localDiskGiB: 0 } });
  web.instances("app", { count: 1, image: img.variant("a"), vcpu: 1, memoryGiB: 1 });
});
`;

describe("plan and apply with the layer cache", () => {
  const dir = makeWorkdir("virtform-imgreg-");
  const cache = join(dir, "cache");
  writeProgram(dir, program);
  // A lock on the system's apt lists, as `images lock` writes it (fresh: nothing to resolve).
  writeHelloLock(dir);
  const env = { VIRTFORM_APT_LISTS: "/var/lib/apt/lists", VIRTFORM_IMAGE_CACHE: cache };
  const top = (v: string) => helloLayers[v]!.at(-1)!.digest;

  it("plan lists the unbuilt variants by image digest; apply --require-images refuses with the command", async () => {
    const plan = await runCli(dir, ["plan"], env);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain(`Image variants to build (not in the layer cache ${cache}):`);
    expect(plan.stdout).toContain(`  image.hello:a  image ${top("a").slice(0, 19)}  3 layers to build`);
    expect(plan.stdout).toContain(`  image.hello:b  image ${top("b").slice(0, 19)}  3 layers to build`);
    const refused = await runCli(dir, ["apply", "--yes", "--require-images"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("image.hello:a, image.hello:b are not built: run 'virtform images build infra.ts' first, or apply with --build-images");
    expect(refused.stdout).not.toContain("Apply complete");
  });

  it("once the cache holds the layers, apply goes ahead and the outputs name the artifact and the digest booted", async () => {
    mkdirSync(cache, { recursive: true });
    for (const stack of Object.values(helloLayers)) {
      for (const layer of stack) {
        const staging = stagingDir(cache, layer.digest);
        writeFileSync(join(staging, "layer.qcow2"), "");
        commitLayer(cache, staging, {
          digest: layer.digest,
          role: layer.role,
          ...(layer.parent ? { parent: layer.parent } : {}),
          adds: layer.adds,
          files: layer.files.map((f) => f.path),
          rootfsDigest: "sha256:fixture",
          storedBytes: 1024,
          virtualBytes: 4096,
        });
      }
    }
    const applied = await runCli(dir, ["apply", "--yes", "--require-images"], env);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).not.toContain("Image variants to build");
    const shown = await runCli(dir, ["state", "show", "image.hello", "--json"], env);
    const outputs = (JSON.parse(shown.stdout) as { outputs: { variants: Record<string, { build?: { digest: string; built: boolean; artifact?: string; layers?: { role: string }[] } }> } }).outputs;
    expect(outputs.variants.a!.build).toMatchObject({ digest: top("a"), built: true, artifact: layerImage(cache, top("a")) });
    expect(outputs.variants.b!.build!.layers!.map((l) => l.role)).toEqual(["base", "common", "variant"]);
    const instance = await runCli(dir, ["state", "show", "instances.web/app[0]", "--json"], env);
    expect((JSON.parse(instance.stdout) as { outputs: { imageDigest?: string } }).outputs.imageDigest).toBe(top("a"));
  });
});
