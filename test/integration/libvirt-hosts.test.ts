// The libvirt test hosts (test/helpers/libvirt-hosts.ts) leave nothing running behind them: after
// stop(), no process of their users is left (the session daemons, and the virtlogd each starts for
// its domains' logs) and the shared ssh connection to the qemu+ssh host is closed. Its own two users,
// so that it runs beside the suites using theirs.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir } from "../helpers/cli.ts";
import { missingLibvirtTools, startLibvirtHosts } from "../helpers/libvirt-hosts.ts";

const missing = missingLibvirtTools();
if (missing.length > 0 && process.env.CI) throw new Error(`the libvirt tests need ${missing.join(", ")}: see .ci/run`);

const USERS = ["vflve", "vflvf"] as const;
const processesOf = (user: string) => spawnSync("pgrep", ["-u", user, "-a"], { encoding: "utf8" }).stdout.trim();

describe.skipIf(missing.length > 0)("the libvirt test hosts", () => {
  it("stop() leaves no daemon, virtlogd or ssh connection running", async () => {
    const hosts = await startLibvirtHosts(USERS);
    const dir = makeWorkdir("virtform-libvirt-hosts-");
    const xml = join(dir, "d.xml");
    writeFileSync(xml, "<domain type='qemu'><name>logs</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>");
    try {
      // A running domain on each host: its daemon starts a virtlogd for the domain's log.
      for (const uri of hosts.uris) hosts.virsh(uri, "create", xml);
      for (const user of USERS) expect(processesOf(user)).toMatch(/virtlogd/);
      const url = new URL(hosts.uris[1]);
      expect(spawnSync(url.searchParams.get("command")!, ["-O", "check", "-p", url.port, `${url.username}@${url.hostname}`], { encoding: "utf8" }).stderr).toMatch(/Master running/);
    } finally {
      hosts.stop();
    }
    const deadline = Date.now() + 10_000;
    while (USERS.some((u) => processesOf(u) !== "") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const user of USERS) expect(processesOf(user), `processes of ${user} after stop()`).toBe("");
    // No shared ssh connection to the second host is left either: ssh run as the URI runs it finds no master.
    const url = new URL(hosts.uris[1]);
    const ssh = url.searchParams.get("command")!;
    expect(spawnSync(ssh, ["-O", "check", "-p", url.port, `${url.username}@${url.hostname}`], { encoding: "utf8" }).stderr).toMatch(/No such file|Control socket connect/i);
  }, 60_000);
});
