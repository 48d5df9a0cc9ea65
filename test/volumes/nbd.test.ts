// The volume data path through real NBD clients (qemu-io, nbdinfo, nbdcopy from Debian's
// qemu-utils and libnbd-bin, which CI installs) against our server over a real thin pool.

import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NbdServer } from "../../emulator/block/nbd-server.ts";
import { ThinPool } from "../../emulator/block/thin-pool.ts";
import { RawNbdClient, nbdUri, qemuIo, qemuIoReadOnly, run, runNbdClientTests, sha256File, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;
const TiB = 1024 * 1024 * MiB;
const NBD_CMD_READ = 0;
const NBD_CMD_WRITE = 1;
const NBD_FLAG_READ_ONLY = 1 << 1;

describe.skipIf(!runNbdClientTests)("NBD export of thin-pool volumes (real clients)", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pool: ThinPool;
  let server: NbdServer;
  let port: number;
  const logs: string[] = [];
  // Read-only attachments: export name -> volume id.
  const readOnlyExports = new Map([["data-ro", "data"]]);

  beforeAll(async () => {
    dir = await tempDir("nbd");
    pool = await ThinPool.create(join(dir.path, "pool"), {
      devices: [{ sizeBytes: 96 * MiB }, { sizeBytes: 96 * MiB }],
      overcommit: 1e5,
    });
    await pool.createVolume("data", 64 * MiB);
    server = new NbdServer({
      lookup(name) {
        const ro = readOnlyExports.get(name);
        if (ro !== undefined) return { device: pool.device(ro), readOnly: true };
        return pool.getVolume(name) ? { device: pool.device(name) } : undefined;
      },
      list: () => [...pool.listVolumes().map((v) => v.id), ...readOnlyExports.keys()],
      log: (m) => logs.push(m),
      security: "insecure", // TLS has its own suite (nbd-access.test.ts)
    });
    ({ port } = await server.listen({ host: "127.0.0.1", port: 0 }));
  });

  afterAll(async () => {
    await server?.close();
    await pool?.close();
    await dir?.remove();
  });

  it("qemu-io writes a pattern and reads it back", async () => {
    const write = await qemuIo(port, "data", "write -P 0xab 0 1M");
    expect(write.stdout).toContain("wrote 1048576/1048576 bytes at offset 0");
    expect(write.code).toBe(0);
    const read = await qemuIo(port, "data", "read -P 0xab 0 1M");
    expect(read.stdout).toContain("read 1048576/1048576 bytes at offset 0");
    expect(read.stdout).not.toContain("Pattern verification failed");
    expect(read.code).toBe(0);
    const wrong = await qemuIo(port, "data", "read -P 0xac 0 1M");
    expect(wrong.stdout).toContain("Pattern verification failed");
    // and the bytes are really in the pool
    expect((await pool.device("data").read(0, MiB)).equals(Buffer.alloc(MiB, 0xab))).toBe(true);
  });

  it("nbdinfo lists the exports with their sizes and flags", async () => {
    await pool.createVolume("listed", 3 * MiB);
    const result = await run("nbdinfo", ["--json", "--list", `nbd://127.0.0.1:${port}`]);
    expect(result.code).toBe(0);
    const exports = (JSON.parse(result.stdout) as { exports: { "export-name": string; "export-size": number; is_read_only: boolean; can_trim: boolean; can_flush: boolean }[] }).exports;
    const byName = new Map(exports.map((e) => [e["export-name"], e]));
    expect(byName.get("data")).toMatchObject({ "export-size": 64 * MiB, is_read_only: false, can_trim: true, can_flush: true });
    expect(byName.get("listed")).toMatchObject({ "export-size": 3 * MiB });
    expect(byName.get("data-ro")).toMatchObject({ "export-size": 64 * MiB, is_read_only: true });
  });

  it("nbdcopy copies a file in and out unchanged (sha256)", async () => {
    await pool.createVolume("copy", 24 * MiB);
    const input = join(dir.path, "in.bin");
    const output = join(dir.path, "out.bin");
    await writeFile(input, randomBytes(24 * MiB));
    const copyIn = await run("nbdcopy", ["--flush", input, nbdUri(port, "copy")]);
    expect(copyIn.stderr).toBe("");
    expect(copyIn.code).toBe(0);
    const copyOut = await run("nbdcopy", [nbdUri(port, "copy"), output]);
    expect(copyOut.code).toBe(0);
    expect(await sha256File(output)).toBe(await sha256File(input));
  });

  it("a read-only export refuses writes (client side and with EPERM on the wire)", async () => {
    const attempt = await qemuIo(port, "data-ro", "write -P 0x01 0 4k");
    expect(attempt.code).not.toBe(0);
    // qemu sees NBD_FLAG_READ_ONLY and refuses to open the export for writing at all
    expect(attempt.stdout + attempt.stderr).toMatch(/Permission denied|read-only/i);
    const reads = await qemuIoReadOnly(port, "data-ro", "read -P 0xab 0 1M");
    expect(reads.stdout).toContain("read 1048576/1048576");
    expect(reads.stdout).not.toContain("Pattern verification failed");
    const raw = await RawNbdClient.connect(port);
    try {
      const { flags } = await raw.go("data-ro");
      expect(flags & NBD_FLAG_READ_ONLY).toBe(NBD_FLAG_READ_ONLY);
      const write = await raw.request(NBD_CMD_WRITE, 0n, 4, Buffer.from("nope"));
      expect(write.error).toBe(1); // NBD_EPERM
      const read = await raw.request(NBD_CMD_READ, 0n, 4);
      expect(read).toMatchObject({ error: 0, data: Buffer.alloc(4, 0xab) });
    } finally {
      raw.close();
    }
    const check = await qemuIo(port, "data", "read -P 0xab 0 4k");
    expect(check.stdout).not.toContain("Pattern verification failed");
  });

  it("a 1 TiB volume exported over NBD costs one chunk after one small write", async () => {
    await pool.createVolume("sparse", TiB);
    const before = pool.usage().usedBytes;
    const info = await run("nbdinfo", ["--size", nbdUri(port, "sparse")]);
    expect(info.stdout.trim()).toBe(String(TiB));
    const write = await qemuIo(port, "sparse", `write -P 0x5e ${TiB - 4096} 4k`);
    expect(write.stdout).toContain(`wrote 4096/4096 bytes at offset ${TiB - 4096}`);
    expect(pool.usage().usedBytes - before).toBe(MiB);
    const read = await qemuIo(port, "sparse", `read -P 0x5e ${TiB - 4096} 4k`, "read -P 0 512G 1M");
    expect(read.stdout).not.toContain("Pattern verification failed");
    expect(read.code).toBe(0);
  });

  it("a snapshot keeps the old bytes after the volume is overwritten (copy-on-write)", async () => {
    await pool.createVolume("cow", 8 * MiB);
    expect((await qemuIo(port, "cow", "write -P 0x11 0 8M")).code).toBe(0);
    const used = pool.usage().usedBytes;
    await pool.snapshotVolume("cow", "cow-snap");
    expect(pool.usage().usedBytes).toBe(used);
    expect((await qemuIo(port, "cow", "write -P 0x22 1M 4k")).code).toBe(0);
    expect(pool.usage().usedBytes).toBe(used + MiB); // only the touched chunk was copied
    const snap = await qemuIoReadOnly(port, "cow-snap", "read -P 0x11 0 8M");
    expect(snap.stdout).toContain("read 8388608/8388608 bytes at offset 0");
    expect(snap.stdout).not.toContain("Pattern verification failed");
    const vol = await qemuIo(port, "cow", "read -P 0x22 1M 4k", "read -P 0x11 0 1M", "read -P 0x11 1052672 1M");
    expect(vol.stdout).not.toContain("Pattern verification failed");
    expect(vol.code).toBe(0);
    const info = await run("nbdinfo", ["--json", nbdUri(port, "cow-snap")]);
    expect(JSON.parse(info.stdout)).toMatchObject({ exports: [{ is_read_only: true }] });
  });

  it("grows in place (clients see the new size and old data); shrink is refused", async () => {
    await pool.createVolume("grow", 2 * MiB);
    expect((await qemuIo(port, "grow", "write -P 0x33 0 2M")).code).toBe(0);
    await pool.resizeVolume("grow", 6 * MiB);
    expect((await run("nbdinfo", ["--size", nbdUri(port, "grow")])).stdout.trim()).toBe(String(6 * MiB));
    const after = await qemuIo(port, "grow", "read -P 0x33 0 2M", "read -P 0 2M 4M", "write -P 0x44 5M 1M", "read -P 0x44 5M 1M");
    expect(after.stdout).not.toContain("Pattern verification failed");
    expect(after.code).toBe(0);
    await expect(pool.resizeVolume("grow", MiB)).rejects.toThrow(/shrinking it to 1048576 would destroy data and is refused/);
    expect((await run("nbdinfo", ["--size", nbdUri(port, "grow")])).stdout.trim()).toBe(String(6 * MiB));
  });

  it("TRIM through qemu-io frees whole chunks", async () => {
    await pool.createVolume("trim", 8 * MiB);
    expect((await qemuIo(port, "trim", "write -P 0x55 0 8M")).code).toBe(0);
    const used = pool.usage().usedBytes;
    const discard = await qemuIo(port, "trim", "discard 2M 4M");
    expect(discard.stdout).toContain("discard 4194304/4194304 bytes at offset 2097152");
    expect(used - pool.usage().usedBytes).toBe(4 * MiB);
    expect(pool.usage().volumes.find((v) => v.id === "trim")?.mappedChunks).toBe(4);
    const read = await qemuIo(port, "trim", "read -P 0x55 0 2M", "read -P 0x55 6M 2M");
    expect(read.stdout).not.toContain("Pattern verification failed");
  });

  it("many concurrent clients write and read their own regions", async () => {
    await pool.createVolume("shared", 16 * MiB);
    const clients = Array.from({ length: 8 }, (_, i) => i);
    const writes = await Promise.all(
      clients.map((i) => qemuIo(port, "shared", `write -P ${0x60 + i} ${i * 2}M 2M`)),
    );
    for (const w of writes) expect(w.code).toBe(0);
    const reads = await Promise.all(
      clients.map((i) => qemuIo(port, "shared", `read -P ${0x60 + i} ${i * 2}M 2M`)),
    );
    for (const r of reads) {
      expect(r.stdout).toContain("read 2097152/2097152");
      expect(r.stdout).not.toContain("Pattern verification failed");
    }
  });

  for (const path of ["userBuffer", "dataEvents"] as const) {
    it(`pipelined requests trickled in odd fragments arrive intact (${path} receive path)`, async () => {
      const volume = `trickle-${path}`;
      await pool.createVolume(volume, 8 * MiB);
      // Some chunks allocated: writes there are rewrites in place, the rest allocate.
      for (const chunk of [0, 2, 3, 4, 6, 7]) await pool.device(volume).write(chunk * MiB, Buffer.alloc(MiB));
      const before = { ...server.receivePaths };
      if (path === "dataEvents") process.env.VIRTFORM_NBD_DATA_EVENTS = "1";
      const raw = await RawNbdClient.connect(port);
      try {
        await raw.go(volume);
      } finally {
        delete process.env.VIRTFORM_NBD_DATA_EVENTS;
      }
      expect(server.receivePaths[path]).toBe(before[path] + 1);
      try {
        // Writes of assorted sizes (crossing chunk boundaries), then reads of the same ranges,
        // all sent before any reply is read, cut into fragments of 1 byte to 300 KiB.
        const writes = [
          [0, 4096],
          [MiB - 700, 1400],
          [2 * MiB + 17, 3 * MiB],
          [5 * MiB + 5, 1],
          [6 * MiB - 4096, 2 * MiB + 4096 - 512],
          [100, 0],
        ] as const;
        const expected = Buffer.alloc(8 * MiB);
        const frames: Buffer[] = [];
        let handle = 0n;
        const header = (type: number, offset: number, length: number) => {
          const h = Buffer.alloc(28);
          h.writeUInt32BE(0x25609513, 0);
          h.writeUInt16BE(type, 6);
          h.writeBigUInt64BE(++handle, 8);
          h.writeBigUInt64BE(BigInt(offset), 16);
          h.writeUInt32BE(length, 24);
          return h;
        };
        for (const [offset, length] of writes) {
          const data = randomBytes(length);
          data.copy(expected, offset);
          frames.push(header(NBD_CMD_WRITE, offset, length), data);
        }
        for (const [offset, length] of writes) frames.push(header(NBD_CMD_READ, offset, length));
        const stream = Buffer.concat(frames);
        let sent = 0;
        for (let i = 0; sent < stream.length; i++) {
          const n = Math.min(stream.length - sent, [1, 27, 29, 4095, 65_537, 300_000, 3][i % 7] as number);
          raw.socket.write(stream.subarray(sent, sent + n));
          sent += n;
          if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        // Replies may come out of order; each carries its handle.
        const lengths = new Map<bigint, number>();
        writes.forEach(([, length], i) => {
          lengths.set(BigInt(i + 1), -1);
          lengths.set(BigInt(writes.length + i + 1), length);
        });
        const got = new Map<bigint, Buffer>();
        for (let i = 0; i < 2 * writes.length; i++) {
          const reply = await raw.read(16);
          expect(reply.readUInt32BE(0)).toBe(0x67446698);
          expect(reply.readUInt32BE(4)).toBe(0);
          const h = reply.readBigUInt64BE(8);
          const length = lengths.get(h);
          expect(length).toBeDefined();
          if ((length as number) >= 0) got.set(h, Buffer.from(await raw.read(length as number)));
        }
        writes.forEach(([offset, length], i) => {
          const data = got.get(BigInt(writes.length + i + 1));
          expect(data?.equals(expected.subarray(offset, offset + length))).toBe(true);
        });
        expect((await pool.device(volume).read(0, 8 * MiB)).equals(expected)).toBe(true);
      } finally {
        raw.close();
      }
    });
  }

  it("backpressure: a client that stops reading replies, then floods writes, is paused and resumed", async () => {
    await pool.createVolume("flood", 128 * MiB);
    const raw = await RawNbdClient.connect(port);
    try {
      await raw.go("flood");
      const frame = (type: number, handle: number, offset: number, length: number) => {
        const h = Buffer.alloc(28);
        h.writeUInt32BE(0x25609513, 0);
        h.writeUInt16BE(type, 6);
        h.writeBigUInt64BE(BigInt(handle), 8);
        h.writeBigUInt64BE(BigInt(offset), 16);
        h.writeUInt32BE(length, 24);
        return h;
      };
      // 100 MiB of read replies the client does not read (the server stops parsing past 64 MiB of
      // unsent replies), then 100 MiB of writes that pile up in the server's staging buffer.
      const reads = 100;
      const writes = 100;
      for (let i = 0; i < reads; i++) raw.socket.write(frame(NBD_CMD_READ, i, (i % 64) * MiB, MiB));
      for (let i = 0; i < writes; i++) {
        raw.socket.write(frame(NBD_CMD_WRITE, reads + i, 100 * MiB, MiB));
        raw.socket.write(Buffer.alloc(MiB, i & 0xff));
      }
      await new Promise((r) => setTimeout(r, 300));
      let readReplies = 0;
      let writeReplies = 0;
      while (readReplies + writeReplies < reads + writes) {
        const reply = await raw.read(16);
        expect(reply.readUInt32BE(4)).toBe(0);
        const handle = Number(reply.readBigUInt64BE(8));
        if (handle < reads) {
          readReplies++;
          await raw.read(MiB);
        } else writeReplies++;
      }
      expect((await pool.device("flood").read(100 * MiB, MiB)).equals(Buffer.alloc(MiB, (writes - 1) & 0xff))).toBe(true);
    } finally {
      raw.close();
    }
  }, 60_000);

  it("answers bad requests with errors and keeps the connection", async () => {
    const raw = await RawNbdClient.connect(port);
    try {
      await raw.go("listed");
      expect((await raw.request(NBD_CMD_READ, BigInt(3 * MiB - 2), 4)).error).toBe(22); // EINVAL
      expect((await raw.request(NBD_CMD_WRITE, BigInt(3 * MiB - 2), 4, Buffer.alloc(4))).error).toBe(28); // ENOSPC
      expect((await raw.request(9, 0n, 0)).error).toBe(22); // unknown command
      expect(await raw.request(NBD_CMD_READ, 0n, 8)).toMatchObject({ error: 0, data: Buffer.alloc(8) });
    } finally {
      raw.close();
    }
  });

  it("handshake: unsupported options get ERR_UNSUP, unknown exports ERR_UNKNOWN, EXPORT_NAME works", async () => {
    const raw = await RawNbdClient.connect(port);
    try {
      expect(await raw.hello()).toBe(0b11); // FIXED_NEWSTYLE | NO_ZEROES
      raw.sendOption(8); // structured replies: optional, we decline
      expect(await raw.optionReply()).toMatchObject({ option: 8, type: 0x80000001 });
      const missing = Buffer.from("missing");
      const goData = Buffer.alloc(4 + missing.length + 2);
      goData.writeUInt32BE(missing.length, 0);
      missing.copy(goData, 4);
      raw.sendOption(6, goData); // NBD_OPT_INFO
      const unknown = await raw.optionReply();
      expect(unknown.type).toBe(0x80000006);
      expect(unknown.data.toString()).toContain("missing");
      raw.sendOption(1, Buffer.from("listed")); // NBD_OPT_EXPORT_NAME, no zeroes negotiated
      const reply = await raw.read(10);
      expect(reply.readBigUInt64BE(0)).toBe(BigInt(3 * MiB));
      expect(await raw.request(NBD_CMD_READ, 0n, 4)).toMatchObject({ error: 0, data: Buffer.alloc(4) });
    } finally {
      raw.close();
    }
    const qemu = await qemuIo(port, "no-such-volume", "read 0 512");
    expect(qemu.code).not.toBe(0);
  });

  it("a malformed request closes only that connection; another client keeps working", async () => {
    const other = await RawNbdClient.connect(port);
    await other.go("data");
    const garbage = await RawNbdClient.connect(port);
    await garbage.go("data");
    garbage.socket.write(Buffer.from("this is not an NBD request at all"));
    await garbage.waitClosed();
    const absurd = await RawNbdClient.connect(port);
    await absurd.go("data");
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(NBD_CMD_WRITE, 6);
    header.writeUInt32BE(0xffffffff, 24); // a 4 GiB write payload
    absurd.socket.write(header);
    await absurd.waitClosed();
    expect(logs.join("\n")).toMatch(/protocol violation, closing connection: bad request magic/);
    expect(logs.join("\n")).toMatch(/write of 4294967295 bytes exceeds the 33554432-byte maximum/);
    // the connection opened before keeps working, and so do new clients
    expect(await other.request(NBD_CMD_READ, 0n, 16)).toMatchObject({ error: 0, data: Buffer.alloc(16, 0xab) });
    other.close();
    const fresh = await qemuIo(port, "data", "read -P 0xab 0 64k");
    expect(fresh.stdout).toContain("read 65536/65536");
    expect(fresh.stdout).not.toContain("Pattern verification failed");
  });
});

describe.skipIf(!runNbdClientTests)("thin overcommit through NBD", () => {
  it("writes beyond the physical capacity fail with ENOSPC; the limit refuses new volumes", async () => {
    const dir = await tempDir("overcommit");
    const pool = await ThinPool.create(join(dir.path, "pool"), { devices: [{ sizeBytes: 4 * MiB }], overcommit: 3 });
    const server = new NbdServer({
      lookup: (name) => (pool.getVolume(name) ? { device: pool.device(name) } : undefined),
      list: () => pool.listVolumes().map((v) => v.id),
      log: () => undefined,
      security: "insecure",
    });
    try {
      const { port } = await server.listen({ port: 0 });
      await pool.createVolume("thin-a", 8 * MiB);
      await expect(pool.createVolume("thin-b", 5 * MiB)).rejects.toThrow(/overcommit 3 = 12582912/);
      await pool.createVolume("thin-b", 4 * MiB);
      const fits = await qemuIo(port, "thin-a", "write -P 0x66 0 4M");
      expect(fits.code).toBe(0);
      const full = await qemuIo(port, "thin-b", "write -P 0x67 0 1M");
      expect(full.code).not.toBe(0);
      expect(full.stdout + full.stderr).toMatch(/No space left on device/);
      expect(pool.usage()).toMatchObject({ usedBytes: 4 * MiB, capacityBytes: 4 * MiB, allocatedBytes: 12 * MiB });
      // freeing space (TRIM) makes room again
      expect((await qemuIo(port, "thin-a", "discard 0 1M")).code).toBe(0);
      const retry = await qemuIo(port, "thin-b", "write -P 0x67 0 1M", "read -P 0x67 0 1M");
      expect(retry.stdout).not.toContain("Pattern verification failed");
      expect(retry.code).toBe(0);
    } finally {
      await server.close();
      await pool.close();
      await dir.remove();
    }
  });
});
