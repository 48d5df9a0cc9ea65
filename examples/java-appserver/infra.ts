// The seed's case: a Java application server built as image variants for heavy, moderate and light
// use, running as two instance groups on a cluster of four hosts, with a shared multi-attach volume
// for common data and a data volume per group.
import { stack } from "virtform";

export default stack("shop", (s) => {
  const fast = s.storagePool("fast", {
    media: "ssd",
    devices: [{ sizeGiB: 1024 }, { sizeGiB: 1024 }],
    overcommit: 2,
  });

  const appserver = s.image("appserver", {
    base: "debian-12",
    packages: ["openjdk-17-jre-headless", "tomcat10"],
    config: { threadPool: 50 },
    variants: {
      light: { config: { heapMiB: 512, threadPool: 25 } },
      moderate: { config: { heapMiB: 2048 } },
      heavy: { config: { heapMiB: 8192, threadPool: 200 }, packages: ["prometheus-node-exporter"] },
    },
  });

  const web = s.cluster("web", {
    hypervisor: "native",
    hosts: { count: 4, vcpu: 32, memoryGiB: 256, localDiskGiB: 2000 },
    overcommit: { cpu: 2 },
  });

  const storefront = web.instances("storefront", {
    count: 3,
    image: appserver.variant("heavy"),
    vcpu: 8,
    memoryGiB: 16,
    localDiskGiB: 40,
    // One storefront per host: losing a host takes one storefront down, not all of them.
    placement: { antiAffinityGroup: "storefront" },
  });
  const backoffice = web.instances("backoffice", {
    count: 2,
    image: appserver.variant("light"),
    vcpu: 2,
    memoryGiB: 4,
    localDiskGiB: 20,
  });

  const shared = fast.volume("shared-data", { sizeGiB: 200, multiAttach: true });
  shared.attachTo(storefront, { mode: "read-write" });
  shared.attachTo(backoffice, { mode: "read-only" });

  const storefrontData = fast.volume("storefront-data", { sizeGiB: 500, multiAttach: true });
  storefrontData.attachTo(storefront);
  const backofficeData = fast.volume("backoffice-data", { sizeGiB: 100, multiAttach: true });
  backofficeData.attachTo(backoffice);

  return { sharedVolumeId: shared.id, clusterId: web.id };
});
