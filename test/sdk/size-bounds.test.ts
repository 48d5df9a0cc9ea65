// The bounds on sizes that become bytes on disk, from the kind schemas (sdk/kinds/sizes.ts).
import { describe, expect, it } from "vitest";
import { kinds } from "../../sdk/kinds/index.ts";
import { MAX_DEVICES_PER_POOL, MAX_SIZE_GIB, MIN_SIZE_GIB } from "../../sdk/kinds/sizes.ts";

const pool = (devices: number[]) => kinds.StoragePool.inputs.safeParse({ media: "ssd", devices: devices.map((sizeGiB) => ({ sizeGiB })) });
const volume = (sizeGiB: number) => kinds.Volume.inputs.safeParse({ pool: "pool-000001", sizeGiB });
const cluster = (localDiskGiB: number) =>
  kinds.Cluster.inputs.safeParse({ hypervisor: "native", hosts: { count: 1, vcpu: 1, memoryGiB: 1, localDiskGiB } });
const messages = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.success ? "ok" : result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");

describe("size bounds", () => {
  it.each([
    ["a 1 MiB device", pool([MIN_SIZE_GIB]), "ok"],
    ["a 1 PiB device", pool([MAX_SIZE_GIB]), "ok"],
    ["a device below 1 MiB", pool([MIN_SIZE_GIB / 2]), "devices.0.sizeGiB: Too small: expected number to be >=1 MiB (1/1024 GiB)"],
    ["a 1e9 GiB device", pool([1e9]), "devices.0.sizeGiB: Too big: expected number to be <=1048576 GiB (1 PiB)"],
    ["256 devices", pool(Array.from({ length: MAX_DEVICES_PER_POOL }, () => 1)), "ok"],
    ["257 devices", pool(Array.from({ length: MAX_DEVICES_PER_POOL + 1 }, () => 1)), "devices: a pool takes at most 256 devices"],
    ["a 0.25 GiB volume", volume(0.25), "ok"],
    ["a 1e-300 GiB volume", volume(1e-300), "sizeGiB: Too small: expected number to be >=1 MiB (1/1024 GiB)"],
    ["an infinite volume", volume(Number.POSITIVE_INFINITY), "sizeGiB: Invalid input: expected number, received Infinity"],
    ["no local disk", cluster(0), "ok"],
    ["a 1e-9 GiB local disk", cluster(1e-9), "hosts.localDiskGiB: Too small: expected number to be 0 (none) or >=1 MiB (1/1024 GiB)"],
    ["a 2 PiB local disk", cluster(2 * MAX_SIZE_GIB), "hosts.localDiskGiB: Too big: expected number to be <=1048576 GiB (1 PiB)"],
  ])("%s", (_what, result, expected) => {
    expect(messages(result)).toBe(expected);
  });
});
