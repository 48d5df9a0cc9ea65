// The boot proof: a built variant started under QEMU (TCG: no KVM is assumed) with direct kernel
// boot from the image's own /boot, its root file system on a virtio disk, and the serial console
// watched for the marker line the variant's virtform-ready unit prints.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markerLine } from "./config-render.ts";
import { dumpFromFs, flatten, listFs } from "./qcow2-chain.ts";

export interface BootTestInput {
  /** The variant's top layer (its backing chain beside it in the cache). */
  image: string;
  imageName: string;
  variant: string;
  digest: string;
  timeoutMs: number;
}

export interface BootTestResult {
  ok: boolean;
  seconds: number;
  marker?: string;
  consoleTail: string;
}

/** The newest kernel and its initrd in a /boot listing ("vmlinuz-6.1.0-37-cloud-amd64", "initrd.img-6.1.0-37-cloud-amd64"). */
export function pickKernel(names: readonly string[]): { kernel: string; initrd: string } | undefined {
  const versions = names
    .filter((n) => n.startsWith("vmlinuz-"))
    .map((n) => n.slice("vmlinuz-".length))
    .filter((v) => names.includes(`initrd.img-${v}`))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const v = versions.at(-1);
  return v === undefined ? undefined : { kernel: `vmlinuz-${v}`, initrd: `initrd.img-${v}` };
}

/** The kernel command line of a built variant: its root file system is the first virtio disk, its console the first serial port. */
export const BOOT_CMDLINE = "root=/dev/vda rw console=ttyS0 panic=-1";

export function qemuArgs(disk: string, kernel: string, initrd: string): string[] {
  return [
    ...["-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "1"],
    ...["-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
    ...["-kernel", kernel, "-initrd", initrd, "-append", BOOT_CMDLINE],
    // snapshot=on: the boot writes to a throwaway overlay, never to the cached layers.
    ...["-drive", `file=${disk},if=virtio,format=qcow2,snapshot=on`],
  ];
}

/** The kernel and initrd of an image's newest kernel, copied out of its /boot into `dir` (as vmlinuz and initrd.img). */
export async function extractBootFiles(image: string, dir: string): Promise<{ kernel: string; initrd: string }> {
  const raw = join(dir, "fs.raw");
  try {
    await flatten(image, raw);
    const picked = pickKernel(await listFs(raw, "/boot"));
    if (!picked) throw new Error("the image has no kernel with an initrd in /boot; add linux-image-cloud-amd64 (and systemd-sysv) to the variant");
    const kernel = join(dir, "vmlinuz");
    const initrd = join(dir, "initrd.img");
    await dumpFromFs(raw, `/boot/${picked.kernel}`, kernel);
    await dumpFromFs(raw, `/boot/${picked.initrd}`, initrd);
    return { kernel, initrd };
  } finally {
    rmSync(raw, { force: true });
  }
}

export async function bootTest(input: BootTestInput): Promise<BootTestResult> {
  const work = mkdtempSync(join(tmpdir(), "virtform-boot-"));
  try {
    const { kernel, initrd } = await extractBootFiles(input.image, work);
    const marker = markerLine(input.imageName, input.variant, input.digest);
    return await watchConsole(qemuArgs(input.image, kernel, initrd), marker, input.timeoutMs);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function watchConsole(args: string[], marker: string, timeoutMs: number): Promise<BootTestResult> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let console = "";
    let settled = false;
    const finish = (result: BootTestResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolvePromise(result);
    };
    const tail = () => console.replace(/\r/g, "").split("\n").slice(-25).join("\n");
    const timer = setTimeout(() => finish({ ok: false, seconds: (Date.now() - started) / 1000, consoleTail: tail() }), timeoutMs);
    const onData = (chunk: Buffer) => {
      console = (console + chunk.toString()).slice(-200_000);
      if (console.includes(marker)) finish({ ok: true, seconds: (Date.now() - started) / 1000, marker, consoleTail: tail() });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`cannot run qemu-system-x86_64: ${err.message}`));
      }
    });
    child.on("close", (code) => finish({ ok: false, seconds: (Date.now() - started) / 1000, consoleTail: `${tail()}\n(qemu exited with ${code})` }));
  });
}
