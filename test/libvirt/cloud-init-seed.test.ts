// An instance's cloud-init NoCloud seed on libvirt (provider/libvirt/cloud-init-seed.ts): the host
// name from its address, the files of the seed, and the CD-ROM the domain sees it as. The image
// itself (genisoimage) and its upload are proven on real hosts in test/integration/libvirt.test.ts.
import { describe, expect, it } from "vitest";
import { hostnameOf, seedFiles } from "../../provider/libvirt/cloud-init-seed.ts";
import { domainXml } from "../../provider/libvirt/domain-xml.ts";

describe("a cloud-init seed", () => {
  it.each([
    ["a group member", "instances.web/app[3]", "app-3"],
    ["a dotted group", "instances.web/api.v2[0]", "api-v2-0"],
    ["upper case and underscores", "instances.web/My_App[12]", "my-app-12"],
    ["no index", "instances.web/db", "db"],
    ["nothing usable", "instances.web/[0]", "0"],
    ["too long for a host name", `instances.web/${"a".repeat(70)}[1]`, "a".repeat(63)],
  ])("host name of %s", (_what, address, hostname) => {
    expect(hostnameOf(address)).toBe(hostname);
  });

  it("meta-data names the instance id and host name; user-data is the user data byte for byte", () => {
    const userData = "#cloud-config\npassword: 'x: y'\n";
    expect(seedFiles({ id: "i-0123456789ab", name: "instances.web/app[0]", userData })).toEqual({
      "meta-data": "instance-id: i-0123456789ab\nlocal-hostname: app-0\n",
      "user-data": userData,
    });
  });

  it("the domain sees the seed as a read-only CD-ROM on the second IDE bus (the local disk keeps hdb)", () => {
    const xml = domainXml({ name: "vf-i-1", vcpu: 1, memoryMiB: 256, root: "/p/i-1-root.qcow2", local: "/p/i-1-local.qcow2", seed: "/p/i-1-seed.iso", metadata: {} });
    expect(xml).toContain("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/p/i-1-seed.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>");
    expect(xml).toContain("<target dev='hdb' bus='ide'/><transient/>");
    expect(domainXml({ name: "vf-i-2", vcpu: 1, memoryMiB: 256, root: "/p/r.qcow2", metadata: {} })).not.toContain("cdrom");
  });
});
