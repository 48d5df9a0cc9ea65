// variantMatrix: every combination of the dimensions' values, merged in order.
import { describe, expect, it } from "vitest";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack, variantMatrix } from "../../sdk/index.ts";

describe("variantMatrix", () => {
  it("names and merges every combination", () => {
    const matrix = variantMatrix(
      { light: { config: { heapMiB: 512, threads: 25 } }, heavy: { config: { heapMiB: 8192 }, packages: ["prometheus-node-exporter"] } },
      { jdk17: { packages: ["openjdk-17-jre-headless (>= 17.0.14)"] }, jdk21: { packages: ["openjdk-21-jre-headless"], config: { threads: 50 } } },
    );
    expect(Object.keys(matrix)).toEqual(["light-jdk17", "light-jdk21", "heavy-jdk17", "heavy-jdk21"]);
    expect(matrix["light-jdk21"]).toEqual({ packages: ["openjdk-21-jre-headless"], config: { heapMiB: 512, threads: 50 } });
    expect(matrix["heavy-jdk17"]).toEqual({
      packages: ["prometheus-node-exporter", "openjdk-17-jre-headless (>= 17.0.14)"],
      config: { heapMiB: 8192 },
    });
    expect(Object.keys(variantMatrix({ a: {} }, { b: {}, c: {} }, { x: {}, y: {} }))).toEqual(["a-b-x", "a-b-y", "a-c-x", "a-c-y"]);
  });

  it("gives each combination its own digest in a program", () => {
    const evaluated = evaluateStack(
      stack("m", (s) => {
        const img = s.image("app", {
          base: "debian-12",
          packages: ["tomcat10"],
          variants: variantMatrix({ light: {}, heavy: { config: { heapMiB: 8192 } } }, { jdk17: { packages: ["openjdk-17-jre-headless"] }, jdk21: { packages: ["openjdk-21-jre-headless"] } }),
        });
        const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
        web.instances("a", { count: 1, image: img.variant("light-jdk17"), vcpu: 1, memoryGiB: 1 });
        web.instances("b", { count: 1, image: img.variant("heavy-jdk21"), vcpu: 1, memoryGiB: 1 });
      }),
    );
    expect(evaluated.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const digests = evaluated.resources
      .filter((r) => r.kind === "Instance")
      .map((r) => (r.inputs.image as { digest: string }).digest);
    expect(new Set(digests).size).toBe(2);
    const image = evaluated.resources.find((r) => r.kind === "Image")!;
    expect(Object.keys(image.inputs.variants as object)).toEqual(["light-jdk17", "light-jdk21", "heavy-jdk17", "heavy-jdk21"]);
  });
});
