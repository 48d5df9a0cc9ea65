// The application-server example on two libvirt hosts (see README.md here): the same image
// variants, a storefront per host, a back office, a data volume per instance. The hosts come from
// virtform.shop.json; the sizes below are what the emulator simulates when that file is absent.
import { stack } from "virtform";

export default stack("shop", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 64 }] });

  const appserver = s.image("appserver", {
    base: "debian-12",
    // The kernel and init make it bootable: libvirt boots each variant's own kernel from its /boot.
    packages: ["linux-image-cloud-amd64", "systemd-sysv", "openjdk-17-jre-headless", "tomcat10"],
    config: { threadPool: 50 },
    variants: {
      light: { config: { heapMiB: 512, threadPool: 25 } },
      moderate: { config: { heapMiB: 2048 } },
      heavy: { config: { heapMiB: 8192, threadPool: 200 }, packages: ["prometheus-node-exporter"] },
    },
  });

  const web = s.cluster("web", {
    hypervisor: "native",
    hosts: { count: 2, vcpu: 4, memoryGiB: 8, localDiskGiB: 50 },
    overcommit: { cpu: 4 },
  });

  const storefront = web.instances("storefront", {
    count: 2,
    image: appserver.variant("heavy"),
    vcpu: 1,
    memoryGiB: 0.5,
    localDiskGiB: 1,
    // One storefront per host: losing a host takes one storefront down, not both.
    placement: { antiAffinityGroup: "storefront" },
  });
  const backoffice = web.instances("backoffice", { count: 1, image: appserver.variant("light"), vcpu: 1, memoryGiB: 0.25 });

  // A dir pool is local to its host: each instance gets a volume of its own, attached where it runs.
  storefront.members.forEach((member, i) => fast.volume(`storefront-data-${i}`, { sizeGiB: 1 }).attachTo(member));
  fast.volume("backoffice-data", { sizeGiB: 1 }).attachTo(backoffice);

  return { clusterId: web.id, storefrontHosts: storefront.members.map((m) => m.host) };
});
