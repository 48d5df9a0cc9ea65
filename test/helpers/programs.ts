// Programs the end-to-end tests write into their working directories.
export interface ShopShape {
  hostCount?: number;
  storefrontCount?: number;
  storefrontVcpu?: number;
  sharedSizeGiB?: number;
  storefrontMemoryGiB?: number;
}

/** The java-appserver example, with the knobs the tests turn. */
export function shopProgram(shape: ShopShape = {}): string {
  const s = { hostCount: 4, storefrontCount: 3, storefrontVcpu: 8, sharedSizeGiB: 200, storefrontMemoryGiB: 16, ...shape };
  return `import { stack } from "virtform";

export default stack("shop", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 1024 }, { sizeGiB: 1024 }] });
  const appserver = s.image("appserver", {
    base: "debian-12",
    packages: ["openjdk-17-jre-headless", "tomcat10"],
    variants: {
      light: { config: { heapMiB: 512 } },
      moderate: { config: { heapMiB: 2048 } },
      heavy: { config: { heapMiB: 8192 }, packages: ["prometheus-node-exporter"] },
    },
  });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: ${s.hostCount}, vcpu: 32, memoryGiB: 256, localDiskGiB: 2000 } });
  const storefront = web.instances("storefront", { count: ${s.storefrontCount}, image: appserver.variant("heavy"), vcpu: ${s.storefrontVcpu}, memoryGiB: ${s.storefrontMemoryGiB}, localDiskGiB: 40 });
  const backoffice = web.instances("backoffice", { count: 2, image: appserver.variant("light"), vcpu: 2, memoryGiB: 4 });
  const shared = fast.volume("shared-data", { sizeGiB: ${s.sharedSizeGiB}, multiAttach: true });
  shared.attachTo(storefront);
  shared.attachTo(backoffice, { mode: "read-only" });
  const data = fast.volume("storefront-data", { sizeGiB: 300, multiAttach: true });
  data.attachTo(storefront);
  return { sharedVolumeId: shared.id };
});
`;
}
