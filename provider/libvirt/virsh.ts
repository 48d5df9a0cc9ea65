// libvirt's own client, kept running: one `virsh` interactive shell per connection (a few when
// commands overlap), fed commands on stdin, each followed by an `echo` of a marker so its output
// ends where the marker appears. No native addon, and a connection (an ssh session for qemu+ssh)
// is opened once per shell rather than once per command.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { VirtformError } from "../../core/virtform-error.ts";

export type VirshErrorCode = "not-found" | "exists" | "libvirt" | "unreachable";

export class VirshError extends VirtformError<VirshErrorCode> {
  readonly layer = "libvirt";
  readonly uri: string;

  constructor(code: VirshErrorCode, uri: string, message: string) {
    super(code, message);
    this.uri = uri;
  }
}

/** What one command printed: its output, or libvirt's error lines. */
export type VirshResult = { ok: true; out: string } | { ok: false; error: string };

const NOT_FOUND = /not found|failed to get (domain|vol|pool)|no storage (vol|pool)|Storage (volume|pool) not found|Domain not found|no domain with matching/i;
const EXISTS = /already exists|exists already/i;

/** How a word reaches virsh's own tokenizer intact: double quotes, with \ and " escaped. */
export function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(arg) ? arg : `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One running `virsh -c URI` shell; commands run one after another in the order given. */
class VirshShell {
  private readonly uri: string;
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = "";
  private readonly waiting: { marker: string; resolve: (text: string) => void; reject: (err: Error) => void }[] = [];
  private next = 0;
  private dead: Error | undefined;
  busy = 0;

  constructor(uri: string) {
    this.uri = uri;
    // stderr into stdout, so each error line lands before the marker that follows its command.
    this.child = spawn("sh", ["-c", 'exec virsh -q -c "$1" 2>&1', "virsh", uri], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => this.take(chunk));
    this.child.stdin.on("error", () => undefined); // a dead shell is reported by 'exit'
    this.child.once("exit", (code) => {
      const said = this.buffer.replace(/virsh # [^\n]*(\n|$)/g, "").trim();
      this.dead = new VirshError("unreachable", uri, `cannot reach libvirt at ${hostLabel(uri)}: virsh exited (${code})${said ? `: ${said.replace(/\n\s*/g, "; ")}` : ""}`);
      for (const w of this.waiting.splice(0)) w.reject(this.dead);
    });
    this.hold(false);
  }

  /** An idle shell must not keep the process alive; one with commands in flight must. */
  private hold(on: boolean): void {
    const stream = this.child.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (on) {
      this.child.ref();
      stream.ref?.();
    } else {
      this.child.unref();
      stream.unref?.();
    }
  }

  /** Runs the commands as one write (one round trip of the pipe); each has its own result. */
  async batch(commands: readonly (readonly string[])[]): Promise<VirshResult[]> {
    if (this.dead) throw this.dead;
    this.busy++;
    try {
      const markers = commands.map(() => `__virtform_${process.pid}_${this.next++}__`);
      const texts = markers.map((marker) => new Promise<string>((resolve, reject) => this.waiting.push({ marker, resolve, reject })));
      const script = commands.map((c, i) => `${c.map(quoteArg).join(" ")}\necho ${markers[i]}\n`).join("");
      if (this.waiting.length === commands.length) this.hold(true);
      this.child.stdin.write(script);
      const outputs = await Promise.all(texts);
      return outputs.map(parseResult);
    } finally {
      this.busy--;
    }
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const head = this.waiting[0];
      if (!head) return;
      // echo's output starts a line (the next prompt follows it at once under -q); the prompt line
      // that echoes the command has "echo " before the marker instead.
      const found = this.buffer.indexOf(`\n${head.marker}`);
      if (found < 0) return;
      const at = found + 1;
      // Drop the prompt line that echoes `echo MARKER`: what comes before it is the command's output.
      const text = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + head.marker.length);
      this.waiting.shift();
      head.resolve(text.replace(/virsh # [^\n]*(\n|$)/g, ""));
      if (this.waiting.length === 0) this.hold(false);
    }
  }

  close(): void {
    if (!this.dead) this.child.stdin.end("quit\n");
  }

  get alive(): boolean {
    return !this.dead;
  }
}

function parseResult(text: string): VirshResult {
  const lines = text.split("\n");
  const errors = lines.filter((l) => l.startsWith("error: "));
  if (errors.length > 0) return { ok: false, error: errors.map((l) => l.slice("error: ".length)).join("; ") };
  return { ok: true, out: lines.filter((l) => !l.startsWith("warning: ")).join("\n") };
}

/** A connection to one libvirt host: a few shells, each command on the least busy one. */
export class VirshConnection {
  readonly uri: string;
  private readonly shells: VirshShell[] = [];
  private readonly maxShells: number;

  constructor(uri: string, maxShells = 4) {
    this.uri = uri;
    this.maxShells = maxShells;
  }

  private shell(): VirshShell {
    for (let i = this.shells.length - 1; i >= 0; i--) if (!this.shells[i]!.alive) this.shells.splice(i, 1);
    const idle = this.shells.find((s) => s.busy === 0);
    if (idle) return idle;
    if (this.shells.length < this.maxShells) {
      const shell = new VirshShell(this.uri);
      this.shells.push(shell);
      return shell;
    }
    return this.shells.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /** Several commands in one write on one shell: the batched read of a refresh. */
  batch(commands: readonly (readonly string[])[]): Promise<VirshResult[]> {
    return commands.length === 0 ? Promise.resolve([]) : this.shell().batch(commands);
  }

  /** One command; libvirt's error becomes a VirshError saying which host and which command. */
  async run(...args: string[]): Promise<string> {
    const [result] = await this.batch([args]);
    if (result!.ok) return result!.out;
    throw commandError(this.uri, args, result!.error);
  }

  close(): void {
    for (const s of this.shells.splice(0)) s.close();
  }
}

export function commandError(uri: string, args: readonly string[], error: string): VirshError {
  const code: VirshErrorCode = NOT_FOUND.test(error) ? "not-found" : EXISTS.test(error) ? "exists" : "libvirt";
  return new VirshError(code, uri, `libvirt at ${hostLabel(uri)}: virsh ${args[0]} failed: ${error}`);
}

/** A host as people name it: its URI without the ssh options of its query (a key file's path). */
export function hostLabel(uri: string): string {
  const [base, query] = uri.split("?", 2) as [string, string | undefined];
  const kept = (query ?? "").split("&").filter((p) => p && !/^(keyfile|no_verify|known_hosts|known_hosts_verify|sshauth|no_tty|command)=/.test(p));
  return kept.length > 0 ? `${base}?${kept.join("&")}` : base;
}
