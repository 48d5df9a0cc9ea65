// Shared helpers for the volume tests: temp dirs, running the real NBD clients, a raw NBD client
// for what the real ones will not send (malformed requests, writes to read-only exports).

import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const hasTool = (name: string): boolean =>
  spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;

/** CI installs qemu-utils, libnbd-bin and nbdkit (apt); without them the client tests cannot run. */
export const NBD_CLIENT_TOOLS = ["qemu-io", "qemu-img", "nbdinfo", "nbdcopy"];
export const hasNbdClients = NBD_CLIENT_TOOLS.every(hasTool);
/** Whether to run the real-client suites: skipped on a machine without the tools, but under CI a
 *  missing tool fails them instead. */
export const runNbdClientTests = hasNbdClients || Boolean(process.env.CI);

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `virtform-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** A server on 127.0.0.1: its port, and for TLS the psktool key file's dir and the PSK identity. */
export type NbdTarget = number | { port: number; tls?: { dir: string; identity: string } };

const portOf = (target: NbdTarget) => (typeof target === "number" ? target : target.port);
const tlsOf = (target: NbdTarget) => (typeof target === "number" ? undefined : target.tls);

/** The libnbd URI (nbdinfo, nbdcopy): nbds:// with the key file and identity for TLS. */
export function nbdUri(target: NbdTarget, name: string): string {
  const tls = tlsOf(target);
  if (tls === undefined) return `nbd://127.0.0.1:${portOf(target)}/${name}`;
  return `nbds://${tls.identity}@127.0.0.1:${portOf(target)}/${name}?tls-psk-file=${join(tls.dir, "keys.psk")}`;
}

/** qemu-io's arguments naming the export: a URI, or with TLS a tls-creds-psk object and image options. */
function qemuTarget(target: NbdTarget, name: string): string[] {
  const tls = tlsOf(target);
  if (tls === undefined) return ["-f", "raw", nbdUri(target, name)];
  return [
    "--object",
    `tls-creds-psk,id=tls0,endpoint=client,dir=${tls.dir},username=${tls.identity}`,
    "--image-opts",
    `driver=nbd,host=127.0.0.1,port=${portOf(target)},export=${name},tls-creds=tls0`,
  ];
}

/** qemu-io with raw format against an NBD export; commands like `write -P 0xab 0 1M`. */
export function qemuIo(target: NbdTarget, name: string, ...commands: string[]): Promise<RunResult> {
  return run("qemu-io", [...commands.flatMap((c) => ["-c", c]), ...qemuTarget(target, name)]);
}

/** qemu-io opening the export read-only (-r), as it must for read-only exports. */
export function qemuIoReadOnly(target: NbdTarget, name: string, ...commands: string[]): Promise<RunResult> {
  return run("qemu-io", ["-r", ...commands.flatMap((c) => ["-c", c]), ...qemuTarget(target, name)]);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * A minimal NBD client speaking fixed newstyle + NBD_OPT_GO over a raw socket, so tests can send
 * requests real clients refuse to send.
 */
export class RawNbdClient {
  readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.notify();
    });
    socket.on("close", () => {
      this.closed = true;
      this.notify();
    });
    socket.on("error", () => undefined);
  }

  /** allowHalfOpen: keep our side open after the server ended its side (a client that lingers). */
  static async connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawNbdClient> {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: options.allowHalfOpen ?? false });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawNbdClient(socket);
  }

  /** Reads the server greeting and answers with client flags (fixed newstyle + no zeroes). */
  async hello(clientFlags = 0b11): Promise<number> {
    const hello = await this.read(18);
    if (hello.readBigUInt64BE(0) !== 0x4e42444d41474943n) throw new Error("no NBDMAGIC");
    if (hello.readBigUInt64BE(8) !== 0x49484156454f5054n) throw new Error("no IHAVEOPT");
    this.socket.write(u32(clientFlags));
    return hello.readUInt16BE(16);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0)): void {
    this.socket.write(Buffer.concat([u64(0x49484156454f5054n), u32(option), u32(data.length), data]));
  }

  async optionReply(): Promise<{ option: number; type: number; data: Buffer }> {
    const header = await this.read(20);
    if (header.readBigUInt64BE(0) !== 0x3e889045565a9n) throw new Error("bad option reply magic");
    return { option: header.readUInt32BE(8), type: header.readUInt32BE(12), data: await this.read(header.readUInt32BE(16)) };
  }

  /** Handshake and NBD_OPT_GO; returns the export size and transmission flags. */
  async go(name: string): Promise<{ size: bigint; flags: number }> {
    await this.hello();
    const nameBytes = Buffer.from(name);
    this.sendOption(7, Buffer.concat([u32(nameBytes.length), nameBytes, u16(0)]));
    let size = -1n;
    let flags = -1;
    for (;;) {
      const { type, data } = await this.optionReply();
      if (type === 3 && data.readUInt16BE(0) === 0) {
        size = data.readBigUInt64BE(2);
        flags = data.readUInt16BE(10);
      } else if (type === 1) {
        return { size, flags };
      } else if (type >= 0x80000000) {
        throw new Error(`NBD_OPT_GO failed: ${type.toString(16)} ${data.toString()}`);
      }
    }
  }

  async read(n: number): Promise<Buffer> {
    while (this.buffer.length < n) {
      if (this.closed) throw new Error("connection closed by the server");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Sends one request and returns the reply's error value (and data for reads). */
  async request(type: number, offset: bigint, length: number, payload?: Buffer): Promise<{ error: number; data: Buffer }> {
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(0, 4);
    header.writeUInt16BE(type, 6);
    header.writeBigUInt64BE(0x1234n, 8);
    header.writeBigUInt64BE(offset, 16);
    header.writeUInt32BE(length, 24);
    this.socket.write(payload ? Buffer.concat([header, payload]) : header);
    const reply = await this.read(16);
    if (reply.readUInt32BE(0) !== 0x67446698) throw new Error("bad reply magic");
    const error = reply.readUInt32BE(4);
    const data = type === 0 && error === 0 ? await this.read(length) : Buffer.alloc(0);
    return { error, data };
  }

  /** Resolves when the server has closed the connection (or rejects after timeoutMs). */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface ServerProcess {
  port: number;
  child: ChildProcess;
  /** Resolves with the signal or exit code once the process is gone. */
  exited: Promise<string>;
}

/** Starts test/volumes/fixtures/serve-pool.ts in a child process and waits for its port. */
export async function startServerProcess(config: object): Promise<ServerProcess> {
  const fixture = fileURLToPath(new URL("./fixtures/serve-pool.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? String(code))));
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then((how) => reject(new Error(`server process exited (${how}) before listening: ${stderr}`)));
  });
  return { port, child, exited };
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}
function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}
