// Image builds, the pure parts: the files a variant's config renders to, the mmdebstrap command a
// package list becomes, the dpkg status check, and the boot test's choice of kernel.
import { describe, expect, it } from "vitest";
import { DEFAULT_SOURCE_DATE_EPOCH, sourceDateEpoch } from "../../cli/commands/images-build.ts";
import { pickKernel, qemuArgs } from "../../images/build/boot-test.ts";
import { envName, markerLine, renderVariantFiles } from "../../images/build/config-render.ts";
import { compareWithLock, formatMismatch, parseDpkgStatus } from "../../images/build/dpkg-status.ts";
import { explainFailure, mmdebstrapArgs } from "../../images/build/mmdebstrap.ts";
import { BASE_FS_BYTES, fsBytesFor, uuidFrom } from "../../images/build/qcow2-chain.ts";
import { setXmlAttributes } from "../../images/build/xml-edit.ts";

describe("renderVariantFiles", () => {
  const input = { image: "appserver", variant: "heavy", digest: "sha256:d", config: { heapMiB: 8192, threadPool: 200, "log.level": "it's" } };

  it.each([
    ["heapMiB", "HEAP_MIB"],
    ["threadPool", "THREAD_POOL"],
    ["log.level", "LOG_LEVEL"],
    ["x-y_z", "X_Y_Z"],
    ["maxHeapSize", "MAX_HEAP_SIZE"],
  ])("%s becomes %s", (key, name) => expect(envName(key)).toBe(name));

  it("writes the config to variant.env (shell-quoted), heapMiB into tomcat's JAVA_OPTS and threadPool into its connector when tomcat10 is installed", () => {
    const files = renderVariantFiles({ ...input, packages: ["tomcat10", "libc6"] });
    expect(files.map((f) => f.path)).toEqual(["/etc/virtform/variant.env", "/etc/default/tomcat10", "/etc/tomcat10/server.xml"]);
    expect(files[2]!.edit).toEqual({ element: "Connector", where: { port: "8080" }, set: { maxThreads: "200" } });
    expect(files[0]!.content).toBe(
      [
        "# Written by virtform images build: this variant's config.",
        "VIRTFORM_IMAGE='appserver'",
        "VIRTFORM_VARIANT='heavy'",
        "VIRTFORM_DIGEST='sha256:d'",
        "HEAP_MIB='8192'",
        "LOG_LEVEL='it'\\''s'",
        "THREAD_POOL='200'",
        "",
      ].join("\n"),
    );
    expect(files[1]!.content).toContain('JAVA_OPTS="-Djava.awt.headless=true -Xms8192m -Xmx8192m"');
  });

  it("installs the marker unit, enabled, when systemd is in the set; nothing for tomcat without it", () => {
    const files = renderVariantFiles({ ...input, packages: ["systemd"] });
    expect(files.map((f) => f.path)).toEqual([
      "/etc/virtform/variant.env",
      "/etc/systemd/system/virtform-ready.service",
      "/etc/systemd/system/multi-user.target.wants/virtform-ready.service",
    ]);
    expect(files[1]!.content).toContain(`ExecStart=/bin/echo ${markerLine("appserver", "heavy", "sha256:d")}`);
    expect(files[2]!.symlink).toBe("/etc/systemd/system/virtform-ready.service");
  });

  it("refuses two keys that render to one name", () => {
    expect(() => renderVariantFiles({ ...input, config: { heapMiB: 1, "heap.mib": 2 }, packages: [] })).toThrow(/heap\.mib and heapMiB both render as HEAP_MIB/);
  });
});

describe("setXmlAttributes", () => {
  // The shape of Debian's tomcat10 server.xml: commented-out connectors before and after the live one.
  const serverXml = [
    "<Server>",
    "  <!--",
    '  <Connector executor="tomcatThreadPool" port="8080" protocol="HTTP/1.1" />',
    "  -->",
    '  <Connector port="8080" protocol="HTTP/1.1"',
    '             connectionTimeout="20000"',
    "             />",
    '  <!-- <Connector port="8443" maxThreads="150" /> -->',
    "</Server>",
    "",
  ].join("\n");
  const edit = { element: "Connector", where: { port: "8080" }, set: { maxThreads: "25" } };

  it.each([
    ["adds the attribute to the live element only", serverXml, serverXml.replace('<Connector port="8080" protocol', '<Connector maxThreads="25" port="8080" protocol')],
    ["replaces an attribute already set", '<a><Connector port="8080" maxThreads="150"/></a>', '<a><Connector port="8080" maxThreads="25"/></a>'],
    ["skips elements whose attributes do not match", '<Connector port="8009"/><Connector port="8080"/>', '<Connector port="8009"/><Connector maxThreads="25" port="8080"/>'],
    ["leaves a longer element name alone", '<ConnectorX port="8080"/><Connector port="8080"/>', '<ConnectorX port="8080"/><Connector maxThreads="25" port="8080"/>'],
  ])("%s", (_, text, expected) => expect(setXmlAttributes(text, edit)).toBe(expected));

  it("escapes the value and fails when no element outside comments matches", () => {
    expect(setXmlAttributes('<Connector port="8080"/>', { ...edit, set: { x: 'a"<&' } })).toBe('<Connector x="a&quot;&lt;&amp;" port="8080"/>');
    expect(() => setXmlAttributes('<!-- <Connector port="8080"/> -->', edit)).toThrow('no <Connector port="8080"> outside comments');
  });
});

describe("mmdebstrapArgs", () => {
  it("names every package with its version, sorted, recommends off, the mirror from a sources file", () => {
    const args = mmdebstrapArgs({ suite: "bookworm", packages: ["tar=1.34", "apt=2.6.1"], target: "/t", sources: "/s.sources" });
    expect(args).toContain("--variant=essential");
    expect(args).toContain("--include=apt=2.6.1,tar=1.34");
    expect(args).toContain('--aptopt=APT::Install-Recommends "false"');
    expect(args.slice(-3)).toEqual(["bookworm", "/t", "/s.sources"]);
    expect(args.some((a) => a.includes("sync-in"))).toBe(false);
  });
  it("with a .deb cache, syncs downloads in and out", () => {
    const args = mmdebstrapArgs({ suite: "bookworm", packages: [], target: "/t", sources: "/s", debCache: "/c/debs" });
    expect(args).toContain("--setup-hook=sync-in /c/debs /var/cache/apt/archives/");
    expect(args).toContain("--customize-hook=sync-out /var/cache/apt/archives /c/debs");
    expect(args.some((a) => a.startsWith("--include"))).toBe(false);
  });
});

describe("explainFailure", () => {
  it.each([
    ["E: Version '9.9-1' for 'hello' was not found\nE: Version '1' for 'tar' was not found", "the mirror does not serve hello 9.9-1, tar 1, which the lock names; run 'virtform images lock --update' to lock what it serves"],
    ["E: Unable to locate package nosuch", undefined],
  ])("%s", (output, expected) => expect(explainFailure(output)).toBe(expected));
});

describe("dpkg status against the lock", () => {
  const status = [
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n",
    "Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2025b\n",
    "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n",
  ].join("\n");
  const installed = parseDpkgStatus(status);
  it("reads installed packages only", () => expect(installed.map((p) => p.name)).toEqual(["libc6", "tzdata"]));
  it.each([
    ["the same set", [{ name: "libc6", version: "2.36-9", architecture: "amd64" }, { name: "tzdata", version: "2025b", architecture: "all" }], undefined],
    ["a missing and an extra package", [{ name: "libc6", version: "2.36-9", architecture: "amd64" }, { name: "bash", version: "5", architecture: "amd64" }], "missing: bash\nnot in the lock: tzdata"],
    [
      "another version",
      [{ name: "libc6", version: "2.36-8", architecture: "amd64" }, { name: "tzdata", version: "2025b", architecture: "all" }],
      "libc6: locked 2.36-8 amd64, installed 2.36-9 amd64",
    ],
  ])("%s", (_label, locked, expected) => {
    const m = compareWithLock(installed, locked);
    expect(m === undefined ? undefined : formatMismatch(m)).toBe(expected);
  });
});

describe("boot test and file system helpers", () => {
  it.each([
    [["vmlinuz-6.1.0-9-cloud-amd64", "initrd.img-6.1.0-9-cloud-amd64", "vmlinuz-6.1.0-10-cloud-amd64", "initrd.img-6.1.0-10-cloud-amd64"], "vmlinuz-6.1.0-10-cloud-amd64"],
    [["vmlinuz-6.1.0-10-cloud-amd64", "vmlinuz-6.1.0-9-cloud-amd64", "initrd.img-6.1.0-9-cloud-amd64"], "vmlinuz-6.1.0-9-cloud-amd64"],
    [["config-6.1.0-9"], undefined],
  ])("picks the newest kernel that has an initrd (%#)", (names, kernel) => expect(pickKernel(names)?.kernel).toBe(kernel));

  it("boots the disk with snapshot=on, root on the virtio disk, console on the serial port", () => {
    const args = qemuArgs("/c/l.qcow2", "/k", "/i").join(" ");
    expect(args).toContain("-drive file=/c/l.qcow2,if=virtio,format=qcow2,snapshot=on");
    expect(args).toContain("root=/dev/vda rw console=ttyS0");
    expect(args).toContain("-accel tcg");
  });

  it.each([
    [0, BASE_FS_BYTES],
    [1500 * 1024 ** 2, 3 * 1024 ** 3],
  ])("a file system for %d used bytes has %d bytes", (used, bytes) => expect(fsBytesFor(used)).toBe(bytes));

  it("derives a stable UUID from a digest", () => expect(uuidFrom(`sha256:${"0123456789abcdef".repeat(4)}`)).toBe("01234567-89ab-4def-8123-456789abcdef"));
});

describe("SOURCE_DATE_EPOCH", () => {
  it.each([
    [undefined, DEFAULT_SOURCE_DATE_EPOCH],
    ["", DEFAULT_SOURCE_DATE_EPOCH],
    ["1700000000", 1700000000],
  ])("%s gives %d", (value, epoch) => expect(sourceDateEpoch(value === undefined ? {} : { SOURCE_DATE_EPOCH: value })).toBe(epoch));
  it("refuses what is not whole seconds", () => expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: "yesterday" })).toThrow(/SOURCE_DATE_EPOCH must be seconds since 1970/));
});
