// End to end as a user works: `virtform emulator serve --nbd-port`, a DSL program with a snapshot
// and a clone applied with `virtform apply`, bytes written with qemu-io, the server SIGKILLed and
// started again, contents compared by sha256, then `virtform destroy`. NBD clients use TLS with the
// pre-shared key `emulator serve` prints and writes (a new one on each start).
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeWorkdir, repoRoot, runCli, writeProgram } from "../helpers/cli.ts";
import { type NbdTarget, nbdUri, qemuIo, qemuIoReadOnly, run, runNbdClientTests, sha256File } from "../volumes/helpers.ts";

const TOKEN = "storage-e2e-token";

interface Serving {
  child: ChildProcess;
  endpoint: string;
  nbdPort: number;
  /** The port with the printed key file's dir and identity. */
  nbd: NbdTarget;
  /** The printed NBD_PSK_IDENTITY and NBD_PSK_KEY, as identity:key. */
  printedKey: string;
}

/** Starts `emulator serve`; with `keyFile` (--nbd-psk-file) it uses that key instead of a new one. */
function serve(cwd: string, dataDir: string, keyFile?: string): Promise<Serving> {
  const args = ["emulator", "serve", "--port", "0", "--nbd-port", "0", "--data-dir", dataDir, "--token", TOKEN, ...(keyFile ? ["--nbd-psk-file", keyFile] : [])];
  const child = spawn(process.execPath, [join(repoRoot, "bin", "virtform.mjs"), ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const endpoint = /VIRTFORM_ENDPOINT=(\S+)/.exec(out)?.[1];
      const port = /NBD nbds:\/\/[^:]+:(\d+)\//.exec(out)?.[1];
      const identity = /NBD_PSK_IDENTITY=(\S+)/.exec(out)?.[1];
      const key = /NBD_PSK_KEY=(\S+)/.exec(out)?.[1];
      const dir = /tls-creds-psk,id=tls0,endpoint=client,dir=([^,]+),/.exec(out)?.[1];
      if (endpoint && port && identity && key && dir) {
        resolve({ child, endpoint, nbdPort: Number(port), nbd: { port: Number(port), tls: { dir, identity } }, printedKey: `${identity}:${key}` });
      }
      const kept = /NBD key: as given \(--nbd-psk-file\), identity (\S+)/.exec(out)?.[1];
      if (endpoint && port && keyFile && kept) {
        resolve({ child, endpoint, nbdPort: Number(port), nbd: { port: Number(port), tls: { dir: dirname(keyFile), identity: kept } }, printedKey: "" });
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}${err}`)));
  });
}

function kill(serving: Serving, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (serving.child.exitCode !== null) return resolve();
    serving.child.once("exit", () => resolve());
    serving.child.kill(signal);
  });
}

const v1 = `import { stack } from "virtform";
export default stack("disks", (s) => {
  const pool = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 4 }], overcommit: 2 });
  const data = pool.volume("data", { sizeGiB: 0.25 });
  return { data: data.id };
});
`;

// The same program with a snapshot of the data volume and a larger clone of that snapshot.
const v2 = `import { stack } from "virtform";
export default stack("disks", (s) => {
  const pool = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 4 }], overcommit: 2 });
  const data = pool.volume("data", { sizeGiB: 0.25 });
  const before = data.snapshot("before");
  const copy = pool.volume("copy", { sizeGiB: 0.5, source: before });
  return { data: data.id, before: before.id, copy: copy.id };
});
`;

describe.skipIf(!runNbdClientTests)("volumes, snapshots and clones through the CLI and NBD", () => {
  const work = makeWorkdir("virtform-storage-cli-");
  const dataDir = join(work, "emulator-data");
  let serving: Serving | undefined;

  afterAll(async () => {
    if (serving) await kill(serving, "SIGTERM");
  });

  it("applies a snapshot and a clone, keeps flushed bytes across SIGKILL, and destroys", async () => {
    serving = await serve(work, dataDir);
    // The key file qemu's tls-creds-psk reads holds the printed key, for its owner's eyes only;
    // a client without it is refused.
    const keyFile = join(dataDir, "nbd-tls", "keys.psk");
    expect(readFileSync(keyFile, "utf8")).toBe(`${serving.printedKey}\n`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "nbd-tls")).mode & 0o777).toBe(0o700);
    const plain = await qemuIo(serving.nbdPort, "whatever", "read 0 4k");
    expect(plain.stderr).toContain("Did you forget a valid tls-creds?");
    const env = () => ({ VIRTFORM_ENDPOINT: serving!.endpoint, VIRTFORM_TOKEN: TOKEN });
    writeProgram(work, v1);
    const first = await runCli(work, ["apply", "infra.ts", "--yes"], env());
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const { data } = JSON.parse((await runCli(work, ["output", "--json"], env())).stdout) as { data: string };
    expect(data).toMatch(/^vol-/);
    const written = await qemuIo(serving.nbd, data, "write -P 0xab 0 1M", "write -P 0x5c 128M 64k", "flush");
    expect(written.code, written.stderr).toBe(0);

    writeProgram(work, v2);
    const plan = await runCli(work, ["plan", "infra.ts"], env());
    expect(plan.stdout).toContain("snapshot.before");
    expect(plan.stdout).toContain("volume.copy");
    const second = await runCli(work, ["apply", "infra.ts", "--yes"], env());
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const outputs = JSON.parse((await runCli(work, ["output", "--json"], env())).stdout) as { before: string; copy: string };
    expect(outputs.before).toMatch(/^snap-/);
    expect(outputs.copy).toMatch(/^vol-/);

    // The volume moves on; the snapshot and the clone keep what it held when the snapshot was taken.
    expect((await qemuIo(serving.nbd, data, "write -P 0xee 0 1M", "flush")).code).toBe(0);
    const snap = await qemuIoReadOnly(serving.nbd, outputs.before, "read -P 0xab 0 1M", "read -P 0x5c 128M 64k");
    expect(snap.code, snap.stderr).toBe(0);
    expect(snap.stdout).not.toContain("Pattern verification failed");
    expect((await qemuIo(serving.nbd, outputs.before, "write -P 0 0 4k")).code).not.toBe(0); // read-only
    const clone = await qemuIo(serving.nbd, outputs.copy, "read -P 0xab 0 1M", "write -P 0x42 256M 1M", "flush");
    expect(clone.code, clone.stderr).toBe(0);
    expect(clone.stdout).not.toContain("Pattern verification failed");

    // sha256 of whole volumes through NBD, before and after SIGKILL of the server
    const hashes = async () => {
      const out: Record<string, string> = {};
      for (const [name, id] of Object.entries({ data, copy: outputs.copy, before: outputs.before })) {
        const file = join(work, `${name}.raw`);
        const copied = await run("nbdcopy", [nbdUri(serving!.nbd, `${id}${name === "before" ? "" : ":ro"}`), file]);
        expect(copied.code, copied.stderr).toBe(0);
        out[name] = await sha256File(file);
      }
      return out;
    };
    const beforeKill = await hashes();
    expect(new Set(Object.values(beforeKill)).size).toBe(3);
    await kill(serving, "SIGKILL");
    // Started again with a key kept from before (--nbd-psk-file), so clients keep theirs.
    const kept = join(work, "kept", "keys.psk");
    mkdirSync(dirname(kept));
    copyFileSync(join(dataDir, "nbd-tls", "keys.psk"), kept);
    serving = await serve(work, dataDir, kept);
    expect(await hashes()).toEqual(beforeKill);
    const again = await qemuIoReadOnly(serving.nbd, `${outputs.copy}:ro`, "read -P 0xab 0 1M", "read -P 0x42 256M 1M");
    expect(again.stdout).not.toContain("Pattern verification failed");
    expect(again.code).toBe(0);

    // Nothing to change after the restart; destroy removes the pool's files too.
    const noop = await runCli(work, ["plan", "infra.ts", "--detailed-exitcode"], env());
    expect(noop.code, noop.stdout + noop.stderr).toBe(0);
    const destroyed = await runCli(work, ["destroy", "infra.ts", "--yes"], env());
    expect(destroyed.code, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(existsSync(join(dataDir, "pools")) ? readdirSync(join(dataDir, "pools")) : []).toEqual([]);
  }, 120_000);
});

describe("emulator serve: NBD access options", () => {
  it("refuses plain NBD beyond loopback and a malformed key file, before anything is served", async () => {
    const work = makeWorkdir("virtform-nbd-insecure-");
    const refused = await runCli(work, ["emulator", "serve", "--port", "0", "--host", "0.0.0.0", "--nbd-port", "0", "--nbd-insecure", "--data-dir", join(work, "data")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--nbd-insecure is allowed on loopback only (--host 127.0.0.1, ::1 or localhost); on 0.0.0.0 NBD requires TLS with a pre-shared key");
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(work, "data"))).toBe(false);
    writeFileSync(join(work, "bad.psk"), "virtform:not-hex\n");
    const badKey = await runCli(work, ["emulator", "serve", "--port", "0", "--nbd-port", "0", "--nbd-psk-file", "bad.psk", "--data-dir", join(work, "data")]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain(`--nbd-psk-file: ${join(work, "bad.psk")}:1: expected "identity:hexkey" (as psktool writes it)`);
  });
});
