// What virsh prints, typed (provider/libvirt/parse.ts), and how words reach virsh's tokenizer
// (virsh.ts): table tests on outputs captured from libvirt 9.0.
import { describe, expect, it } from "vitest";
import { isRunning, parseDisks, parseMemStats, parseMetadata, parseNames, parseNodeInfo, parseSizes } from "../../provider/libvirt/parse.ts";
import { domainXml } from "../../provider/libvirt/domain-xml.ts";
import { hostLabel, quoteArg } from "../../provider/libvirt/virsh.ts";

const NODEINFO = `CPU model:           x86_64
CPU(s):              2
CPU frequency:       2596 MHz
CPU socket(s):       1
Core(s) per socket:  2
Thread(s) per core:  1
NUMA cell(s):        1
Memory size:         20932824 KiB
`;

const DOMAIN = `<domain type='qemu' id='3'>
  <name>vf-test</name>
  <metadata>
    <vf:object xmlns:vf="https://virtform.dev/libvirt/1">{"a":"&lt;b&gt; &amp; c"}</vf:object>
  </metadata>
  <devices>
    <disk type='file' device='disk'>
      <source file='/p/root.qcow2' index='2'/>
      <backingStore type='file' index='3'><format type='qcow2'/><source file='/p/image.qcow2'/><backingStore/></backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='/p/data.img' index='4'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
      <shareable/>
      <alias name='ua-att-1'/>
    </disk>
  </devices>
</domain>`;

describe("virsh outputs", () => {
  it.each([
    ["nodeinfo", () => parseNodeInfo(NODEINFO), { cpus: 2, memoryKiB: 20932824 }],
    ["nodememstats", () => parseMemStats("total  :             24684096 KiB\nfree   :             18731644 KiB\n"), { total: 24684096, free: 18731644 }],
    ["vol-info --bytes", () => parseSizes("Name:           v.qcow2\nType:           file\nCapacity:       67108864 bytes\nAllocation:     200704 bytes\n"), { capacity: 67108864, allocation: 200704 }],
    ["pool-info --bytes (no unit)", () => parseSizes("State:          running\nCapacity:       270553174016\nAllocation:     30920720384\nAvailable:      239632453632\n"), { capacity: 270553174016, allocation: 30920720384, available: 239632453632 }],
    ["list --name", () => parseNames("vf-a\n\nvf-b   \n"), ["vf-a", "vf-b"]],
    ["metadata", () => parseMetadata(DOMAIN), { a: "<b> & c" }],
    ["no metadata", () => parseMetadata("<domain/>"), undefined],
  ])("%s", (_name, parse, expected) => {
    expect(parse()).toEqual(expected);
  });

  it("reads each disk's own source, not its backing file's, with its alias and flags", () => {
    expect(parseDisks(DOMAIN)).toEqual([
      { dev: "vda", file: "/p/root.qcow2", alias: "virtio-disk0", readonly: false, shareable: false },
      { dev: "vdb", file: "/p/data.img", alias: "ua-att-1", readonly: true, shareable: true },
    ]);
  });

  it.each([
    ["running", true],
    ["paused", true],
    ["shut off", false],
    ["crashed", false],
  ])("domstate %s is running: %s", (state, running) => {
    expect(isRunning(`${state}\n`)).toBe(running);
  });

  it("metadata written into a domain reads back", () => {
    const metadata = { id: "i-1", tags: { "virtform:address": "instances.web/app[0]" }, note: `quotes ' " and <xml> & more` };
    const xml = domainXml({ name: "vf-i-1", vcpu: 1, memoryMiB: 128, root: "/p/r.qcow2", metadata });
    expect(parseMetadata(xml.replace("xmlns:vf='", 'xmlns:vf="').replace("/1'>", '/1">'))).toEqual(metadata);
  });
});

describe("virsh words", () => {
  it.each([
    ["plain", "vol-1.qcow2", "vol-1.qcow2"],
    ["space", "x y", '"x y"'],
    ["quotes and backslash", `a"b\\c`, '"a\\"b\\\\c"'],
    ["xml", "<object>{}</object>", '"<object>{}</object>"'],
  ])("%s", (_name, word, quoted) => {
    expect(quoteArg(word)).toBe(quoted);
  });

  it.each([
    ["ssh options dropped", "qemu+ssh://u@h:22/session?keyfile=/k&no_verify=1", "qemu+ssh://u@h:22/session"],
    ["the ssh command dropped", "qemu+ssh://u@h/system?command=/opt/ssh-shared&keyfile=/k", "qemu+ssh://u@h/system"],
    ["socket kept", "qemu:///session?socket=/home/a/sock", "qemu:///session?socket=/home/a/sock"],
    ["plain", "qemu:///system", "qemu:///system"],
  ])("host label: %s", (_name, uri, label) => {
    expect(hostLabel(uri)).toBe(label);
  });
});
