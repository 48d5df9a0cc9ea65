// Two libvirt "hosts" on this machine for the libvirt tests: the session daemons of two Unix users,
// one reached through its socket (a local connection) and one over qemu+ssh through a local sshd
// with key auth. Needs root (it creates the users and starts their daemons and the sshd).
// Idempotent: users and daemons already there are reused; `stop()` wipes what the tests made on
// both hosts and stops the daemons (each with its virtlogd), the sshd and the ssh master connection
// it started (by pid or control socket, nothing else).
// The qemu+ssh host is reached as README recommends: ssh connection sharing (ControlMaster,
// ControlPersist), so only the first connection pays the ssh handshake. ssh reads that from a
// config file of ours (SSH_CONFIG, through the URI's `command=`: root's ~/.ssh is left alone), the
// same lines a user puts in ~/.ssh/config; VIRTFORM_TEST_SSH_CONFIG=/dev/null turns it off.
// The out-of-band operations the tests make behind virtform's back (destroy a domain, resize a
// volume, read or write a volume's bytes) are small functions here, for any suite to reuse.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** The tools the libvirt tests need; the names of those missing. */
export function missingLibvirtTools(): string[] {
  const tools = ["virsh", "libvirtd", "sshd", "ssh-keygen", "qemu-img", "qemu-io", "qemu-system-x86_64", "useradd", "genisoimage", "isoinfo"];
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0);
  if (process.getuid?.() !== 0) missing.push("root");
  return missing;
}

export const HOST_USERS = ["vflva", "vflvb"] as const;
/** The conformance suite's own two users: its file runs beside libvirt.test.ts, each wiping its own daemons. */
export const CONFORMANCE_USERS = ["vflvc", "vflvd"] as const;
const STATE_DIR = "/var/tmp/virtform-libvirt-hosts";
const SSH_CONFIG = join(STATE_DIR, "ssh_config");
/** The ssh the qemu+ssh URI runs (its `command=`): ssh with our config file. */
const SSH_COMMAND = join(STATE_DIR, "ssh");

export interface LibvirtHosts {
  /** [a local session connection, the other user's session over qemu+ssh]. */
  uris: [string, string];
  /** A one-shot virsh command against a host: its stdout, or a thrown error with its stderr. */
  virsh(uri: string, ...args: string[]): string;
  /** Every domain of every host, by name (out-of-band view). */
  domains(uri: string): string[];
  /** Stops a domain behind virtform's back (drift). */
  destroyDomain(uri: string, name: string): void;
  /** Resizes a volume behind virtform's back (drift); through the running domain using it, if any. */
  resizeVolume(uri: string, pool: string, volume: string, bytes: number, domain?: string): void;
  /** Writes `length` bytes of `pattern` at `offset` of a disk of a running domain, through its QEMU (the disk's alias names it). */
  guestWrite(uri: string, domain: string, alias: string, offset: number, length: number, pattern: number): void;
  /** Whether those bytes of a qcow2 volume's file hold the pattern (read beside a running QEMU, sharing its image). */
  volumeHolds(path: string, offset: number, length: number, pattern: number): boolean;
  /** The file of a volume (both hosts are this machine). */
  volumePath(uri: string, pool: string, volume: string): string;
  /** Writes bytes into a (detached) qcow2 volume's guest view. */
  writeVolume(path: string, offset: number, text: string): void;
  /** Reads bytes of a qcow2 volume's guest view. */
  readVolume(path: string, offset: number, length: number): string;
  /** Removes every domain, volume and pool on both hosts. */
  wipe(): void;
  /** Stops both session daemons and starts them again (running domains stay, as with a libvirtd restart). */
  restart(): Promise<void>;
  stop(): void;
}

export async function startLibvirtHosts(users: readonly [string, string] = HOST_USERS): Promise<LibvirtHosts> {
  mkdirSync(STATE_DIR, { recursive: true });
  const started: number[] = [];
  for (const user of users) {
    if (spawnSync("id", [user]).status !== 0) execFileSync("useradd", ["-m", "-s", "/bin/bash", user]);
    const pid = startSessionDaemon(user);
    if (pid) started.push(pid);
  }
  const key = join(STATE_DIR, "id_ed25519");
  if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  authorize(users[1], readFileSync(`${key}.pub`, "utf8"));
  const port = await freePort();
  const sshdPid = startSshd(port);
  writeSshConfig();
  const uris: [string, string] = [
    `qemu:///session?socket=${socketOf(users[0])}`,
    `qemu+ssh://${users[1]}@127.0.0.1:${port}/session?keyfile=${key}&no_verify=1&command=${SSH_COMMAND}`,
  ];
  await waitFor(() => uris.every((uri) => spawnSync("virsh", ["-q", "-c", uri, "uri"]).status === 0), 15_000, "the libvirt hosts to answer");

  const virsh = (uri: string, ...args: string[]): string => {
    const r = spawnSync("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`virsh ${args.join(" ")} on ${uri}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const hosts: LibvirtHosts = {
    uris,
    virsh,
    domains: (uri) => lines(virsh(uri, "list", "--all", "--name")),
    destroyDomain: (uri, name) => void virsh(uri, "destroy", name),
    resizeVolume: (uri, pool, volume, bytes, domain) => {
      if (domain) virsh(uri, "blockresize", domain, hosts.volumePath(uri, pool, volume), `${bytes}B`);
      else virsh(uri, "vol-resize", volume, `${bytes}`, "--pool", pool);
    },
    guestWrite: (uri, domain, alias, offset, length, pattern) => {
      // HMP's qemu-io on the disk's device (it prints to the domain's log, not here), then a flush
      // so that the image file holds the write for a reader outside QEMU.
      // A SCSI disk's (an attachment) and an IDE disk's (a local disk) drive hangs off the device itself.
      const device = alias;
      virsh(uri, "qemu-monitor-command", domain, "--hmp", `qemu-io -d ${device} "write -P ${pattern} ${offset} ${length}"`);
      virsh(uri, "qemu-monitor-command", domain, "--hmp", `qemu-io -d ${device} "flush"`);
    },
    volumePath: (uri, pool, volume) => virsh(uri, "vol-path", volume, "--pool", pool).trim(),
    volumeHolds: (path, offset, length, pattern) => {
      const r = spawnSync("qemu-io", ["-r", "-U", "-f", "qcow2", "-c", `read -P ${pattern} ${offset} ${length}`, path], { encoding: "utf8" });
      return r.status === 0 && /read \d+\/\d+ bytes/.test(r.stdout) && !/verification failed/i.test(r.stdout);
    },
    writeVolume: (path, offset, text) => {
      const file = join(STATE_DIR, "write.bin");
      writeFileSync(file, text);
      // The file is the session user's; root writes it in place, owner unchanged.
      execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -s ${file} ${offset} ${text.length}`, path], { stdio: "ignore" });
    },
    readVolume: (path, offset, length) => {
      const out = execFileSync("qemu-io", ["-r", "-U", "-f", "qcow2", "-c", `read -v ${offset} ${length}`, path], { encoding: "utf8" });
      // `read -v` dumps "offset:  hex bytes  ascii": decode the hex bytes.
      const bytes = out
        .split("\n")
        .filter((l) => /^[0-9a-f]{8}:/.test(l))
        .flatMap((l) => l.slice(10, 10 + 16 * 3).trim().split(/\s+/))
        .map((h) => Number.parseInt(h, 16));
      return Buffer.from(bytes.slice(0, length)).toString("latin1");
    },
    wipe: () => {
      for (const uri of uris) wipeHost(uri);
    },
    restart: async () => {
      for (const user of users) {
        const pid = daemonPid(user);
        if (pid) {
          process.kill(pid, "SIGTERM");
          await waitFor(() => spawnSync("kill", ["-0", `${pid}`]).status !== 0, 15_000, `the session daemon of ${user} to stop`);
          const at = started.indexOf(pid);
          if (at >= 0) started.splice(at, 1);
        }
        const again = startSessionDaemon(user);
        if (again) started.push(again);
      }
      await waitFor(() => uris.every((uri) => spawnSync("virsh", ["-q", "-c", uri, "uri"]).status === 0), 15_000, "the libvirt hosts to answer");
    },
    stop: () => {
      try {
        hosts.wipe();
      } finally {
        // The shared ssh connection's master first (it would outlive the sshd's listener by ControlPersist).
        spawnSync("ssh", ["-F", SSH_CONFIG, "-O", "exit", "-p", `${port}`, `${users[1]}@127.0.0.1`], { stdio: "ignore" });
        kill(sshdPid);
        for (const user of users) {
          const pid = daemonPid(user);
          if (pid && started.includes(pid)) stopDaemon(user, pid);
        }
      }
    },
  };
  return hosts;
}

/** Removes every domain, volume and pool of one host. */
function wipeHost(uri: string): void {
  const list = (...args: string[]) => lines(spawnSync("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8" }).stdout ?? "");
  for (const name of list("list", "--all", "--name")) {
    spawnSync("virsh", ["-q", "-c", uri, "destroy", name]);
    spawnSync("virsh", ["-q", "-c", uri, "undefine", name, "--nvram"]);
  }
  for (const pool of list("pool-list", "--all", "--name")) {
    const target = /<path>([^<]+)<\/path>/.exec(spawnSync("virsh", ["-q", "-c", uri, "pool-dumpxml", pool], { encoding: "utf8" }).stdout ?? "")?.[1];
    spawnSync("virsh", ["-q", "-c", uri, "pool-destroy", pool]);
    spawnSync("virsh", ["-q", "-c", uri, "pool-undefine", pool]);
    if (target?.startsWith("/var/tmp/virtform-")) rmSync(target, { recursive: true, force: true });
  }
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);

/**
 * One more host of its own (the session daemon of `user`, a local connection), for a suite that
 * must not share the two hosts above with suites running beside it. `stop()` wipes it and stops
 * the daemon if this call started it.
 */
export async function startSessionHost(user: string): Promise<{ uri: string; stop(): void }> {
  if (spawnSync("id", [user]).status !== 0) execFileSync("useradd", ["-m", "-s", "/bin/bash", user]);
  const pid = startSessionDaemon(user);
  const uri = `qemu:///session?socket=${socketOf(user)}`;
  await waitFor(() => spawnSync("virsh", ["-q", "-c", uri, "uri"]).status === 0, 15_000, `the session daemon of ${user} to answer`);
  return {
    uri,
    stop: () => {
      try {
        wipeHost(uri);
      } finally {
        if (pid) stopDaemon(user, pid);
      }
    },
  };
}

function socketOf(user: string): string {
  return `/home/${user}/.cache/libvirt/libvirt-sock`;
}

/** The pid of the user's running session daemon, if one runs. */
function daemonPid(user: string): number | undefined {
  const pidFile = `/home/${user}/.cache/libvirt/libvirtd.pid`;
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return pid > 0 && spawnSync("kill", ["-0", `${pid}`]).status === 0 ? pid : undefined;
}

/** The pid of the user's session virtlogd (libvirtd starts it for its domains' logs), if one runs. */
function virtlogdPid(user: string): number | undefined {
  const pidFile = `/home/${user}/.cache/libvirt/virtlogd.pid`;
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return pid > 0 && spawnSync("kill", ["-0", `${pid}`]).status === 0 ? pid : undefined;
}

/** Stops a session daemon this helper started, and the virtlogd it started (which would linger up to its 120 s idle timeout). */
function stopDaemon(user: string, pid: number): void {
  kill(pid);
  const logger = virtlogdPid(user);
  if (logger) kill(logger);
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/**
 * ssh connection sharing, as README recommends for qemu+ssh hosts: the first connection becomes the
 * master and stays 60 s after its last session, the next ones ride on it (no key exchange).
 */
function writeSshConfig(): void {
  // Written whole and renamed into place: suites running side by side may be running ssh through them.
  const put = (file: string, text: string, mode: number) => {
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, file);
  };
  put(SSH_CONFIG, ["Host *", "  ControlMaster auto", `  ControlPath ${STATE_DIR}/cm-%C`, "  ControlPersist 60", ""].join("\n"), 0o644);
  put(SSH_COMMAND, `#!/bin/sh\nexec ssh -F "\${VIRTFORM_TEST_SSH_CONFIG:-${SSH_CONFIG}}" "$@"\n`, 0o755);
}

/** Starts the user's session daemon unless it runs; its pid when this call started it. */
function startSessionDaemon(user: string): number | undefined {
  if (daemonPid(user) && existsSync(socketOf(user))) return undefined;
  // No --timeout: it stays until stop(); `-d` daemonizes, so its pid comes from its pid file.
  execFileSync("su", ["-", user, "-c", "/usr/sbin/libvirtd -d"], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const pid = daemonPid(user);
    if (pid && existsSync(socketOf(user))) return pid;
    spawnSync("sleep", ["0.05"]);
  }
  throw new Error(`the session daemon of ${user} did not start`);
}

function authorize(user: string, publicKey: string): void {
  const dir = `/home/${user}/.ssh`;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "authorized_keys");
  writeFileSync(file, publicKey);
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }));
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }));
  chownSync(dir, uid, gid);
  chownSync(file, uid, gid);
  chmodSync(dir, 0o700);
  chmodSync(file, 0o600);
}

function startSshd(port: number): number {
  mkdirSync("/run/sshd", { recursive: true });
  const pidFile = join(STATE_DIR, `sshd-${port}.pid`);
  execFileSync("/usr/sbin/sshd", ["-p", `${port}`, "-o", "ListenAddress=127.0.0.1", "-o", `PidFile=${pidFile}`, "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no"]);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (existsSync(pidFile)) return Number(readFileSync(pidFile, "utf8").trim());
    spawnSync("sleep", ["0.05"]);
  }
  throw new Error("sshd did not start");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
