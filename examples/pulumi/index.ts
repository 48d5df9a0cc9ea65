// The java-appserver example (examples/java-appserver/infra.ts) as a Pulumi program: an application
// server image with heavy and light variants, two instance groups on a cluster of four hosts, a
// shared multi-attach volume and a data volume per group. Resource names are the native program's
// (an instance "web/storefront[0]", an attachment "shared-data@web/storefront[0]"), so both create the
// same objects. Runs with `pulumi up` (plugin pulumi-resource-virtform) or `virtform apply --pulumi`.
import * as virtform from "virtform/pulumi";

const fast = new virtform.storage.StoragePool("fast", {
  media: "ssd",
  devices: [{ sizeGiB: 1024 }, { sizeGiB: 1024 }],
  overcommit: 2,
});

const appserver = new virtform.images.Image("appserver", {
  base: "debian-12",
  packages: ["openjdk-17-jre-headless", "tomcat10"],
  config: { threadPool: 50 },
  variants: {
    light: { config: { heapMiB: 512, threadPool: 25 } },
    moderate: { config: { heapMiB: 2048 } },
    heavy: { config: { heapMiB: 8192, threadPool: 200 }, packages: ["prometheus-node-exporter"] },
  },
});

const web = new virtform.compute.Cluster("web", {
  hypervisor: "native",
  hosts: { count: 4, vcpu: 32, memoryGiB: 256, localDiskGiB: 2000 },
  overcommit: { cpu: 2 },
});

/** An instance group: `count` instances named "web/<group>[i]", as the native DSL names them. */
function instances(group: string, count: number, args: Omit<virtform.compute.InstanceArgs, "cluster" | "group" | "index">) {
  return Array.from({ length: count }, (_, index) => {
    const name = `web/${group}[${index}]`;
    return { name, instance: new virtform.compute.Instance(name, { ...args, cluster: web.id, group, index }) };
  });
}

const storefront = instances("storefront", 3, {
  image: appserver.variant("heavy"),
  vcpu: 8,
  memoryGiB: 16,
  localDiskGiB: 40,
  // One storefront per host: losing a host takes one storefront down, not all of them.
  placement: { antiAffinityGroup: "storefront" },
});
const backoffice = instances("backoffice", 2, { image: appserver.variant("light"), vcpu: 2, memoryGiB: 4, localDiskGiB: 20 });

/** A multi-attach volume in the fast pool, attached to every instance of a group ("<volume>@<instance>"). */
function volume(name: string, sizeGiB: number, attachments: [ReturnType<typeof instances>, "read-write" | "read-only"][]) {
  const created = new virtform.storage.Volume(name, { pool: fast.id, sizeGiB, multiAttach: true });
  for (const [group, mode] of attachments) {
    for (const { name: instanceName, instance } of group) {
      new virtform.storage.Attachment(`${name}@${instanceName}`, { volume: created.id, instance: instance.id, mode });
    }
  }
  return created;
}

const shared = volume("shared-data", 200, [
  [storefront, "read-write"],
  [backoffice, "read-only"],
]);
volume("storefront-data", 500, [[storefront, "read-write"]]);
volume("backoffice-data", 100, [[backoffice, "read-write"]]);

export const sharedVolumeId = shared.id;
export const clusterId = web.id;
