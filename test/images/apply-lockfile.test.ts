// The lockfile is applied in one pass over the evaluated resources: the program runs once, and each
// use of a variant carries the digest of its locked package set.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProgram } from "../../cli/program.ts";
import type { Reference } from "../../core/model.ts";
import { type ImageInputs } from "../../sdk/kinds/image.ts";
import { resolveVariant, variantDigest } from "../../images/variant.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const counter = "__virtformApplyLockfileBuilds";

function program(dir: string, name: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { stack } from "virtform";

export default stack("${name}", (s) => {
  (globalThis as Record<string, number>).${counter}_${name} = ((globalThis as Record<string, number>).${counter}_${name} ?? 0) + 1;
  const app = s.image("app", { base: "debian-12", packages: ["openjdk-17-jre-headless"], variants: { light: {}, heavy: { packages: ["tomcat10"] } } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 100 } });
  web.instances("api", { count: 1, image: app.variant("heavy"), vcpu: 2, memoryGiB: 4 });
  return { heavy: app.variant("heavy") };
});
`,
  );
  return file;
}

const builds = (name: string) => (globalThis as unknown as Record<string, number>)[`${counter}_${name}`];

describe("applyLockfile through loadProgram", () => {
  it("runs the program once, and puts the locked digest wherever a variant is used", async () => {
    const dir = makeWorkdir("virtform-apply-lockfile-");
    // No virtform.lock: every variant is resolved live against the (stand-in) apt lists.
    const evaluated = await loadProgram(program(dir, "live"), { warnings: [] });
    expect(builds("live")).toBe(1);
    const image = evaluated.resources.find((r) => r.address === "image.app")!.inputs as unknown as ImageInputs;
    const locked = image.locked?.heavy?.digest;
    expect(locked).toMatch(/^sha256:/);
    expect(locked).not.toBe(variantDigest(resolveVariant(image, "heavy")));
    const instance = evaluated.resources.find((r) => r.kind === "Instance")!;
    expect(instance.inputs.image).toEqual({ image: { $ref: "image.app", path: "id" } satisfies Reference, variant: "heavy", digest: locked });
    expect(evaluated.outputs.heavy).toEqual({ image: { $ref: "image.app", path: "id" }, variant: "heavy", digest: locked });
  });

  it("leaves variants unresolved when asked to (live: false): the request's digest, and a warning", async () => {
    const dir = makeWorkdir("virtform-apply-lockfile-");
    const warnings: { message: string }[] = [];
    const evaluated = await loadProgram(program(dir, "unresolved"), { live: false, warnings: warnings as never });
    expect(builds("unresolved")).toBe(1);
    const image = evaluated.resources.find((r) => r.address === "image.app")!.inputs as unknown as ImageInputs;
    expect(image.locked).toBeUndefined();
    const instance = evaluated.resources.find((r) => r.kind === "Instance")!;
    expect((instance.inputs.image as { digest: string }).digest).toBe(variantDigest(resolveVariant(image, "heavy")));
    expect(warnings.map((w) => w.message).join("\n")).toMatch(/is not locked/);
  });
});
