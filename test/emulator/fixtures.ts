// Small builders for in-process emulator tests: a cluster, an image, and instance specs on them.
import type { Emulator } from "../../emulator/emulator.ts";

export interface Made {
  clusterId: string;
  image: { image: string; variant: string; digest: string };
}

export function setUp(
  emulator: Emulator,
  cluster: { hypervisor?: string; count?: number; vcpu?: number; memoryGiB?: number; localDiskGiB?: number; overcommit?: object } = {},
): Made {
  const { hypervisor = "native", count = 2, vcpu = 16, memoryGiB = 64, localDiskGiB = 500, overcommit } = cluster;
  const made = emulator.create(
    "Cluster",
    { hypervisor, hosts: { count, vcpu, memoryGiB, localDiskGiB }, ...(overcommit ? { overcommit } : {}) },
    { name: "cluster.web" },
  );
  const image = emulator.create("Image", { base: "debian-12", packages: ["tomcat10"], variants: { light: {} } }, { name: "image.app" });
  const variants = image.outputs.variants as Record<string, { digest: string }>;
  return { clusterId: made.id, image: { image: image.id, variant: "light", digest: variants.light!.digest } };
}

export function instanceSpec(made: Made, index: number, extra: Record<string, unknown> = {}) {
  return { cluster: made.clusterId, group: "app", index, image: made.image, vcpu: 2, memoryGiB: 8, localDiskGiB: 10, ...extra };
}

/** Creates `spec` as instances.web/app[index]. */
export function createInstance(emulator: Emulator, made: Made, index: number, extra: Record<string, unknown> = {}) {
  return emulator.create("Instance", instanceSpec(made, index, extra), { name: `instances.web/app[${index}]` });
}

/** The error a call throws, for asserting its code and message. */
export function failure(call: () => unknown): { code?: string; message: string } {
  try {
    call();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error("expected the call to fail, and it succeeded");
}
