// A layer mounted through qemu-storage-daemon's FUSE export (images/build/overlay-mount.ts), undone at
// any moment: a build interrupted while the daemon is still setting up its export stops the daemon
// too. Needs root, qemu-img, qemu-storage-daemon and mkfs.ext4: skipped elsewhere, fails under CI.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeAllLayers, mountLayer } from "../../images/build/overlay-mount.ts";
import { makeWorkdir } from "../helpers/cli.ts";
import { alive } from "../helpers/processes.ts";

const TOOLS = ["qemu-img", "qemu-storage-daemon", "mkfs.ext4"];
const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
const isRoot = process.getuid?.() === 0;
const ready = isRoot && missing.length === 0;
if (!ready && process.env.CI) throw new Error(`overlay mounts need root and ${TOOLS.join(", ")} (missing: ${missing.join(", ") || "none"}; root: ${isRoot})`);

/** The pids of the live qemu-storage-daemon processes serving `image`, as /proc lists them. */
function daemonsOf(image: string): string {
  const live = readdirSync("/proc").filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return cmdline.startsWith("qemu-storage-daemon\0") && cmdline.includes(`filename=${image},`) && alive(pid);
    } catch {
      return false; // not a process, or gone meanwhile
    }
  });
  return live.join(" ");
}

describe.skipIf(!ready)("overlay mounts", () => {
  it("mounts a qcow2 read-write and unmounts it; closed while the daemon starts, the daemon stops too", async () => {
    const work = makeWorkdir("virtform-overlay-");
    const image = `${work}/layer.qcow2`;
    expect(spawnSync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]).status).toBe(0);
    // An ext4 inside the qcow2: made on the raw export of a first mount's daemon would be circular, so on a raw file converted in.
    expect(spawnSync("mkfs.ext4", ["-q", "-F", `${work}/fs.raw`, "64M"]).status).toBe(0);
    expect(spawnSync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", `${work}/fs.raw`, image]).status).toBe(0);

    const layer = await mountLayer(image, work, "a");
    expect(spawnSync("touch", [`${layer.root}/written`]).status).toBe(0);
    expect(layer.close()).toBeUndefined();
    expect(daemonsOf(image)).toBe("");

    // Interrupted as the daemon has set up its export, before the build saw its pid file: the test
    // holds the event loop (as a signal handler's clean-up runs) from the moment the file appears.
    const starting = mountLayer(image, work, "b");
    const pidfile = join(work, "qsd-b.pid");
    const until = Date.now() + 20_000;
    while (!(existsSync(pidfile) && readFileSync(pidfile, "utf8").trim() !== "") && Date.now() < until);
    expect(daemonsOf(image)).not.toBe("");
    closeAllLayers();
    expect(daemonsOf(image)).toBe("");
    await expect(starting).rejects.toThrow(/qemu-storage-daemon/);
  }, 60_000);
});
