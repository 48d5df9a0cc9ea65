// What the emulator targets declare: a cluster of two small hosts, a 1 GiB pool, a one-variant image;
// revision 2 changes each in place (placement policy, overcommit, one more variant).
import type { Declarations } from "../target.ts";

export const emulatorDeclarations: Declarations = {
  cluster: (name, revision = 1) =>
    `s.cluster(${JSON.stringify(name)}, { hypervisor: "native", hosts: { count: 2, vcpu: 4, memoryGiB: 8, localDiskGiB: 2 }${revision === 2 ? `, placement: "pack"` : ""} })`,
  pool: (name, revision = 1) => `s.storagePool(${JSON.stringify(name)}, { media: "ssd", devices: [{ sizeGiB: 1 }]${revision === 2 ? ", overcommit: 2" : ""} })`,
  image: (name, revision = 1) =>
    `s.image(${JSON.stringify(name)}, { base: "debian-12", variants: { light: {}${revision === 2 ? ", heavy: { config: { heapMiB: 2048 } }" : ""} } })`,
};
