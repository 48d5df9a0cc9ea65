// The shop before the change under review (see ../make-history.ts).
import { stack } from "virtform";

export default stack("shop", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 1024 }] });
  const slow = s.storagePool("slow", { media: "hdd", devices: [{ sizeGiB: 4096 }] });

  const appserver = s.image("appserver", {
    base: "debian-12",
    packages: ["openjdk-17-jre-headless (>= 17)", "tomcat10 (>= 10.1)"],
    variants: { heavy: { config: { heapMiB: 8192 } } },
  });

  const web = s.cluster("web", {
    hypervisor: "native",
    hosts: { count: 4, vcpu: 32, memoryGiB: 256, localDiskGiB: 2000 },
  });
  const storefront = web.instances("storefront", {
    count: 3,
    image: appserver.variant("heavy"),
    vcpu: 8,
    memoryGiB: 16,
    localDiskGiB: 40,
    placement: { antiAffinityGroup: "storefront" },
  });

  const orders = fast.volume("orders", { sizeGiB: 500, multiAttach: true });
  orders.attachTo(storefront, { mode: "read-only" });
  // virtform-review-ignore protection archive copies are rebuilt from orders
  slow.volume("archive", { sizeGiB: 1000 });
  return { ordersId: orders.id };
});
