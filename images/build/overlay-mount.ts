// A layer's qcow2 mounted read-write without kernel NBD: qemu-storage-daemon exports the image (its
// backing chain opened through the relative paths in its header) as a raw file over FUSE, and that
// file is loop-mounted as ext4. Writes land in the layer's own qcow2 only (copy-on-write on its
// parent), so the overlay holds what the layer changed and nothing else. noatime: reading the
// parent's files must not rewrite their inodes into the overlay. Every mount is remembered, so an
// interrupted build undoes it synchronously (from a signal handler) before its directories go.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runTool } from "./tools.ts";

export interface MountedLayer {
  /** Where the layer's file system is mounted. */
  root: string;
  /** Mounts made below `root` for this build (chroot's /proc, /dev...), unmounted first. */
  inner: string[];
  /**
   * Unmounts everything, stops the export and waits until its writes are in the qcow2. Never throws
   * (it also runs while a failed build unwinds); says why when the layer cannot be trusted.
   */
  close(): string | undefined;
}

const open = new Set<MountedLayer>();

/**
 * Mounts `image` (a qcow2) at `<work>/mnt-<tag>`. With `growTo`, the file system is first grown to
 * that many bytes (the qcow2 must have been created that large).
 */
export async function mountLayer(image: string, work: string, tag: string, growTo?: number): Promise<MountedLayer> {
  const exported = join(work, `fs-${tag}.raw`);
  const pidfile = join(work, `qsd-${tag}.pid`);
  const root = join(work, `mnt-${tag}`);
  writeFileSync(exported, "");
  mkdirSync(root, { recursive: true });
  let pid: number | undefined;
  let fuseMounted = false;
  let rootMounted = false;
  const layer: MountedLayer = {
    root,
    inner: [],
    close() {
      for (const m of layer.inner.splice(0).reverse()) unmount(m);
      let problem: string | undefined;
      if (rootMounted && !unmount(root)) problem = `${root} was busy and only detached lazily`;
      rootMounted = false;
      // The loop device is detached once unmounted; its last writes reach the export before that.
      if (!waitUntil(() => spawnSync("losetup", ["-j", exported], { encoding: "utf8" }).stdout.trim() === "")) problem ??= `the loop device on ${exported} stayed attached`;
      if (pid !== undefined && !stopDaemon(pid)) problem ??= "qemu-storage-daemon did not stop within 30 s";
      pid = undefined;
      if (fuseMounted) unmount(exported);
      fuseMounted = false;
      // A FUSE mount that could not be ended (a daemon killed before it said so) refuses removal: it is reported, not thrown.
      try {
        rmSync(exported, { force: true });
        rmSync(pidfile, { force: true });
      } catch (err) {
        problem ??= `${exported} could not be removed (${(err as Error).message})`;
      }
      open.delete(layer);
      return problem === undefined ? undefined : `${problem}: the layer ${image} is not trusted`;
    },
  };
  open.add(layer);
  try {
    // The pid is known from the spawn on: a build interrupted while the daemon sets up stops it too.
    pid = await startDaemon(pidfile, (spawned) => (pid = spawned), [
      "--pidfile",
      pidfile,
      // no-flush: dpkg's many fsyncs would each reach the host disk; the layer file is fsynced once, as it is committed to the cache (layer-cache.ts).
      "--blockdev",
      `driver=file,node-name=file,filename=${image},cache.no-flush=on,discard=unmap`,
      "--blockdev",
      // discard: blocks a file held until the layer deleted it (mkinitramfs' first initrd, say) leave the overlay.
      "driver=qcow2,node-name=layer,file=file,discard=unmap",
      "--export",
      `type=fuse,id=export,node-name=layer,mountpoint=${exported},writable=on`,
    ]);
    fuseMounted = true;
    if (growTo !== undefined) await runTool("resize2fs", ["-f", exported]); // -f: the parent was a finished, clean file system
    await runTool("mount", ["-o", "loop,noatime,discard", exported, root]);
    rootMounted = true;
    return layer;
  } catch (err) {
    layer.close();
    throw err;
  }
}

/** Mounts something below a mounted layer (`mount ARGS... <root>/<at>`), undone by its close. */
export async function mountInside(layer: MountedLayer, at: string, args: readonly string[]): Promise<void> {
  const target = join(layer.root, at);
  mkdirSync(target, { recursive: true });
  await runTool("mount", [...args, target]);
  layer.inner.push(target);
}

/** Closes every layer still mounted (an interrupted build); synchronous, so it runs from a signal handler. */
export function closeAllLayers(): void {
  for (const layer of [...open]) layer.close();
}

/** Synchronous, so it also runs from a signal handler; false when the mount was busy and only detached lazily. */
export function unmount(mountpoint: string): boolean {
  try {
    execFileSync("umount", [mountpoint], { stdio: "ignore" });
    return true;
  } catch {
    // busy (a process still inside): detach it lazily; not mounted: nothing to do
    return spawnSync("umount", ["-l", mountpoint], { stdio: "ignore" }).status !== 0;
  }
}

/** Polls `done` every 50 ms for up to 30 s (synchronously). */
function waitUntil(done: () => boolean): boolean {
  for (let i = 0; i < 600; i++) {
    if (done()) return true;
    spawnSync("sleep", ["0.05"]);
  }
  return done();
}

/**
 * Starts qemu-storage-daemon as our child (its CPU time is the build's) and resolves with its pid
 * once it has written its pid file, which it does after its exports are set up.
 */
function startDaemon(pidfile: string, spawned: (pid: number) => void, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("qemu-storage-daemon", args, { stdio: ["ignore", "ignore", "pipe"] });
    if (child.pid !== undefined) spawned(child.pid);
    let err = "";
    let done = false;
    child.stderr.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.on("error", (e) => finish(new Error(`cannot run qemu-storage-daemon: ${e.message}`)));
    child.on("exit", (code, signal) => finish(new Error(`qemu-storage-daemon failed (${signal ?? `exit ${code}`}): ${err.trim()}`)));
    const started = Date.now();
    const timer = setInterval(() => {
      if (existsSync(pidfile) && readFileSync(pidfile, "utf8").trim() !== "") finish(undefined);
      else if (Date.now() - started > 30_000) {
        child.kill("SIGKILL");
        finish(new Error(`qemu-storage-daemon set up no export within 30 s: ${err.trim()}`));
      }
    }, 20);
    function finish(error: Error | undefined) {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (error) reject(error);
      else resolvePromise(child.pid!);
    }
  });
}

/** Whether process `pid` still runs (a zombie, exited but not yet reaped, does not). */
function runs(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Stops qemu-storage-daemon and waits for it to exit (it flushes the qcow2 on the way out); false when it had to be killed. */
function stopDaemon(pid: number): boolean {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return true; // gone already
  }
  if (waitUntil(() => !runs(pid))) return true;
  process.kill(pid, "SIGKILL");
  return false;
}
