// NBD access control through real clients: TLS with a pre-shared key (qemu-io's tls-creds-psk,
// libnbd's nbds:// URIs), refusals of plain and wrong-key clients, the handshake time limit and the
// cap on connections per client address.

import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NbdServer } from "../../emulator/block/nbd-server.ts";
import { type PskCredentials, generatePsk, writePskFile } from "../../emulator/block/psk-file.ts";
import { ThinPool } from "../../emulator/block/thin-pool.ts";
import { NBD_CLIENT_TOOLS, RawNbdClient, hasTool, nbdUri, qemuIo, run, runNbdClientTests, sha256File, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;
const NBD_CMD_READ = 0;
const OPT_EXPORT_NAME = 1;
const OPT_ABORT = 2;
const OPT_LIST = 3;
const OPT_STARTTLS = 5;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_ERR_UNSUP = 0x80000001;
const REP_ERR_INVALID = 0x80000003;
const REP_ERR_TLS_REQD = 0x80000005;

const until = async (condition: () => boolean, what: string, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

// Under CI the suites below run whether or not the tools exist; this names the missing ones.
it.runIf(Boolean(process.env.CI))("CI has every NBD client tool the tests use", () => {
  expect(NBD_CLIENT_TOOLS.filter((tool) => !hasTool(tool))).toEqual([]);
});

describe.skipIf(!runNbdClientTests)("NBD over TLS with a pre-shared key", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pool: ThinPool;
  let server: NbdServer;
  let port: number;
  let psk: PskCredentials;
  let keyDir: string;
  const logs: string[] = [];
  const tls = () => ({ port, tls: { dir: keyDir, identity: psk.identity } });

  beforeAll(async () => {
    dir = await tempDir("nbd-tls");
    pool = await ThinPool.create(join(dir.path, "pool"), { devices: [{ sizeBytes: 64 * MiB }] });
    await pool.createVolume("data", 16 * MiB);
    psk = generatePsk();
    keyDir = join(dir.path, "tls");
    writePskFile(keyDir, psk);
    server = new NbdServer({
      lookup: (name) => (pool.getVolume(name) ? { device: pool.device(name) } : undefined),
      list: () => pool.listVolumes().map((v) => v.id),
      log: (m) => logs.push(m),
      security: { psk },
      maxConnectionsPerClient: 4,
    });
    ({ port } = await server.listen({ host: "127.0.0.1", port: 0 }));
  });

  afterAll(async () => {
    await server?.close();
    await pool?.close();
    await dir?.remove();
  });

  it("qemu-io with tls-creds-psk writes and reads back; nbdcopy and nbdinfo with an nbds:// URI", async () => {
    const io = await qemuIo(tls(), "data", "write -P 0xab 0 1M", "read -P 0xab 0 1M", "flush");
    expect(io.stderr).toBe("");
    expect(io.stdout).toContain("read 1048576/1048576 bytes at offset 0");
    expect(io.stdout).not.toContain("Pattern verification failed");
    expect((await pool.device("data").read(0, MiB)).equals(Buffer.alloc(MiB, 0xab))).toBe(true);

    const input = join(dir.path, "in.bin");
    const output = join(dir.path, "out.bin");
    await writeFile(input, randomBytes(16 * MiB));
    const copyIn = await run("nbdcopy", ["--flush", input, nbdUri(tls(), "data")]);
    expect(copyIn.code, copyIn.stderr).toBe(0);
    const copyOut = await run("nbdcopy", [nbdUri(tls(), "data"), output]);
    expect(copyOut.code, copyOut.stderr).toBe(0);
    expect(await sha256File(output)).toBe(await sha256File(input));

    const info = await run("nbdinfo", [nbdUri(tls(), "data")]);
    expect(info.stdout).toContain("with TLS");
    // every connection, TLS ones included, gave its slot back when it closed
    await until(() => server.connectionCount === 0, "the TLS connections to close");
  });

  it("refuses clients without TLS (qemu-io's 'Did you forget a valid tls-creds?') and with a wrong key", async () => {
    const plain = await qemuIo(port, "data", "read 0 4k");
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain("Did you forget a valid tls-creds?");
    expect(plain.stderr).toContain("requires TLS with a pre-shared key");
    const plainInfo = await run("nbdinfo", ["--size", nbdUri(port, "data")]);
    expect(plainInfo.code).not.toBe(0);

    const wrongDir = join(dir.path, "wrong");
    writePskFile(wrongDir, { identity: psk.identity, key: randomBytes(32) });
    const wrongKey = await qemuIo({ port, tls: { dir: wrongDir, identity: psk.identity } }, "data", "read 0 4k");
    expect(wrongKey.code).not.toBe(0);
    const strangerDir = join(dir.path, "stranger");
    writePskFile(strangerDir, { identity: "mallory", key: psk.key });
    const wrongIdentity = await run("nbdinfo", ["--size", nbdUri({ port, tls: { dir: strangerDir, identity: "mallory" } }, "data")]);
    expect(wrongIdentity.code).not.toBe(0);
    expect(logs.join("\n")).toMatch(/wrong pre-shared key for identity "virtform"/);
    expect(logs.join("\n")).toMatch(/unknown PSK identity "mallory"/);
    // nothing was read or written by the refused clients
    expect((await pool.device("data").read(0, 4)).length).toBe(4);
  });

  it("before STARTTLS only ABORT works: options get ERR_TLS_REQD, EXPORT_NAME drops the connection", async () => {
    const raw = await RawNbdClient.connect(port);
    try {
      await raw.hello();
      raw.sendOption(OPT_STARTTLS, Buffer.from("junk")); // STARTTLS takes no data: refused, data skipped
      expect(await raw.optionReply()).toMatchObject({ option: OPT_STARTTLS, type: REP_ERR_INVALID });
      raw.sendOption(OPT_LIST);
      expect(await raw.optionReply()).toMatchObject({ option: OPT_LIST, type: REP_ERR_TLS_REQD });
      const name = Buffer.from("data");
      const go = Buffer.alloc(4 + name.length + 2);
      go.writeUInt32BE(name.length, 0);
      name.copy(go, 4);
      raw.sendOption(OPT_GO, go);
      expect(await raw.optionReply()).toMatchObject({ option: OPT_GO, type: REP_ERR_TLS_REQD });
      raw.sendOption(OPT_EXPORT_NAME, name);
      await raw.waitClosed();
    } finally {
      raw.close();
    }
    expect(logs.join("\n")).toMatch(/NBD_OPT_EXPORT_NAME before TLS/);
  });

  it("caps connections per client address; a closed one frees its slot", async () => {
    await until(() => server.connectionCount === 0, "earlier connections to close");
    const held = await Promise.all([1, 2, 3, 4].map(() => RawNbdClient.connect(port)));
    for (const c of held) await c.hello(); // each got its greeting
    const fifth = await RawNbdClient.connect(port);
    await fifth.waitClosed();
    expect(logs.join("\n")).toMatch(/refused, 127\.0\.0\.1 already holds 4 connections \(the limit per client\)/);
    const refused = await qemuIo(tls(), "data", "read 0 4k");
    expect(refused.code).not.toBe(0);
    held[0]?.close();
    await until(() => server.connectionCount === 3, "the closed connection to be counted out");
    const io = await qemuIo(tls(), "data", "read 0 4k");
    expect(io.stdout).toContain("read 4096/4096 bytes at offset 0");
    expect(io.code, io.stderr).toBe(0);
    for (const c of held) c.close();
  });
});

describe("NBD handshake time limit", () => {
  it("drops a client that stalls before choosing an export, in plain text or in the TLS handshake; a connected client may idle; one that ignores the end is cut off", async () => {
    const dir = await tempDir("nbd-timeout");
    const pool = await ThinPool.create(join(dir.path, "pool"), { devices: [{ sizeBytes: 4 * MiB }] });
    await pool.createVolume("x", MiB);
    const logs: string[] = [];
    const make = (security: ConstructorParameters<typeof NbdServer>[0]["security"]) =>
      new NbdServer({ lookup: () => ({ device: pool.device("x") }), list: () => ["x"], log: (m) => logs.push(m), security, handshakeTimeoutMs: 300 });
    const tlsServer = make({ psk: generatePsk() });
    const plainServer = make("insecure");
    try {
      const tlsPort = (await tlsServer.listen({ port: 0 })).port;
      const plainPort = (await plainServer.listen({ port: 0 })).port;
      const started = Date.now();
      // A client the server said goodbye to (ABORT) but which never closes its side.
      const lingering = await RawNbdClient.connect(plainPort, { allowHalfOpen: true });
      await lingering.hello();
      lingering.sendOption(OPT_ABORT);
      expect(await lingering.optionReply()).toMatchObject({ option: OPT_ABORT, type: REP_ACK });
      const silent = await RawNbdClient.connect(tlsPort); // sends nothing after the greeting
      const stalledTls = await RawNbdClient.connect(tlsPort);
      await stalledTls.hello();
      stalledTls.sendOption(OPT_STARTTLS);
      expect(await stalledTls.optionReply()).toMatchObject({ option: OPT_STARTTLS, type: REP_ACK });
      // ...and never sends its TLS hello
      const connected = await RawNbdClient.connect(plainPort);
      await connected.go("x");
      await silent.waitClosed(3000);
      await stalledTls.waitClosed(3000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect(logs.filter((m) => m.includes("handshake not finished within 0.3 s"))).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 400));
      expect(connected.closed).toBe(false);
      expect(await connected.request(NBD_CMD_READ, 0n, 8)).toMatchObject({ error: 0, data: Buffer.alloc(8) });
      // a server without TLS declines STARTTLS instead of pretending
      const plain = await RawNbdClient.connect(plainPort);
      await plain.hello();
      plain.sendOption(OPT_STARTTLS);
      expect(await plain.optionReply()).toMatchObject({ option: OPT_STARTTLS, type: REP_ERR_UNSUP });
      plain.close();
      connected.close();
      await until(() => plainServer.connectionCount === 0, "the lingering connection to be cut off", 4000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900); // 2 s after the server ended it
      lingering.close();
    } finally {
      await tlsServer.close();
      await plainServer.close();
      await pool.close();
      await dir.remove();
    }
  });

  it("plain NBD is refused beyond loopback", async () => {
    const server = new NbdServer({ lookup: () => undefined, list: () => [], security: "insecure" });
    await expect(server.listen({ host: "0.0.0.0", port: 0 })).rejects.toThrow(/NBD without TLS is served on loopback addresses only; 0\.0\.0\.0 needs a pre-shared key/);
    await server.close();
  });
});
