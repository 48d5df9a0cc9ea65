// The generated SDK at run time, under Pulumi's own test mocks (they stand in for the Pulumi engine,
// not for any part of virtform): each class registers its token with its inputs, outputs come back
// as Outputs, and an image variant resolves to the reference an Instance takes, with the digest from
// the image's outputs. (Secret options are the engine's to apply; the plugin test covers them.)
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

await pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      const outputs =
        args.type === "virtform:images:Image"
          ? { variants: Object.fromEntries(Object.keys(args.inputs.variants).map((v) => [v, { digest: `sha256:${v}`, packages: [] }])) }
          : args.type === "virtform:compute:Instance"
            ? { host: "host-1", state: "running" }
            : {};
      return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
    },
    call: () => ({}),
  },
  "shop",
  "dev",
  false,
);
const virtform = await import("virtform/pulumi");

const value = <T>(output: pulumi.Output<T> | pulumi.Input<T>) => new Promise<T>((resolve) => pulumi.output(output).apply(resolve as (v: unknown) => void));

describe("the generated Pulumi SDK", () => {
  it("registers resources by token, and an Instance boots the image variant it names", async () => {
    const app = new virtform.images.Image("app", { base: "debian-12", variants: { light: {}, heavy: { packages: ["tomcat10"] } } });
    const web = new virtform.compute.Cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
    const vm = new virtform.compute.Instance("app-0", {
      cluster: web.id,
      group: "app",
      index: 0,
      image: app.variant("heavy"),
      vcpu: 2,
      memoryGiB: 4,
      userData: "#cloud-config",
    });
    expect(await value(vm.host)).toBe("host-1");
    expect(await value(vm.image)).toEqual({ image: "app-id", variant: "heavy", digest: "sha256:heavy" });
    expect(registered.map((r) => r.type).sort()).toEqual(["virtform:compute:Cluster", "virtform:compute:Instance", "virtform:images:Image"]);
    expect(registered.find((r) => r.name === "app-0")!.inputs).toMatchObject({ cluster: "web-id", group: "app", index: 0, vcpu: 2 });
  });

});
