// Running the external tools a build uses (mmdebstrap, mkfs.ext4, qemu-img, debugfs...), with their
// output kept for the error message when one fails.
import { spawn, type ChildProcess } from "node:child_process";

/** Tools running now: an interrupted build stops them before it removes their work. */
export const running = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  running.add(child);
  child.on("close", () => running.delete(child));
}

/** Runs a tool, keeping the tail of its output for the error. */
export function runTool(cmd: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], ...(cwd !== undefined ? { cwd } : {}) });
    track(child);
    let tail = "";
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} failed (${signal ?? `exit ${code}`}):\n${tail.trim().split("\n").slice(-15).join("\n")}`));
    });
  });
}

/** Runs a tool and returns its standard output. */
export function toolOutput(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.on("error", (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on("close", (code) => (code === 0 ? resolvePromise(Buffer.concat(out).toString()) : reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.trim()}`))));
  });
}
