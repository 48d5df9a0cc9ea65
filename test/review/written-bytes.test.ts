// The bytes a volume, snapshot or local disk holds, as the review's data-loss findings count them:
// the same from the embedded emulator and from the served one over HTTP.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { serveEmulator } from "../../emulator/http/server.ts";
import { EmbeddedBackend } from "../../provider/embedded-backend.ts";
import { HttpBackend } from "../../provider/http-backend.ts";
import { createInstance, setUp } from "../emulator/fixtures.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const MiB = 1024 * 1024;

describe("written bytes", () => {
  it("counts the chunks a volume maps, embedded and over HTTP", async () => {
    const dataDir = makeWorkdir("virtform-written-");
    const embedded = new EmbeddedBackend(Emulator.open(dataDir));
    const pool = await embedded.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 4 }] }, { name: "pool.p", token: "t1" });
    const volume = await embedded.create("Volume", { pool: pool.id, sizeGiB: 1 }, { name: "volume.v", token: "t2" });
    const empty = await embedded.create("Volume", { pool: pool.id, sizeGiB: 1 }, { name: "volume.e", token: "t3" });
    const device = await embedded.emulator.dataPlane!.volumeDevice(volume.id);
    await device.write(0, Buffer.alloc(2 * MiB + 1, 1)); // 3 chunks of 1 MiB
    const snapshot = await embedded.create("Snapshot", { volume: volume.id }, { name: "snapshot.s", token: "t4" });
    expect(await embedded.writtenBytes("Volume", volume.id)).toBe(3 * MiB);
    expect(await embedded.writtenBytes("Volume", empty.id)).toBe(0);
    expect(await embedded.writtenBytes("Instance", volume.id)).toBeUndefined();
    const fromSnapshot = await embedded.writtenBytes("Snapshot", snapshot.id);
    await embedded.emulator.close();

    const token = "written-bytes-token";
    const server = await serveEmulator({ dataDir, token, port: 0 });
    try {
      const http = new HttpBackend({ endpoint: server.url, token });
      expect(await http.writtenBytes("Volume", volume.id)).toBe(3 * MiB);
      expect(await http.writtenBytes("Volume", empty.id)).toBe(0);
      expect(await http.writtenBytes("Snapshot", snapshot.id)).toBe(fromSnapshot);
      expect(fromSnapshot).toBe(3 * MiB);
    } finally {
      await server.close();
    }
  }, 20_000);

  it("counts the chunks an instance's local disk maps, embedded and over HTTP, which a stop or replace wipes", async () => {
    const dataDir = makeWorkdir("virtform-written-disk-");
    const emulator = Emulator.open(dataDir);
    const embedded = new EmbeddedBackend(emulator);
    const instance = createInstance(emulator, setUp(emulator), 0, { localDiskGiB: 10 });
    const { device } = await emulator.dataPlane!.instanceDevice(instance.id, "vda", "write");
    await device.write(0, Buffer.alloc(MiB + 1, 7)); // 2 chunks
    expect(await embedded.writtenBytes("Instance", instance.id)).toBe(2 * MiB);
    const diskless = createInstance(emulator, setUp(emulator), 1, { localDiskGiB: 0 });
    expect(await embedded.writtenBytes("Instance", diskless.id)).toBeUndefined();
    await emulator.close();

    const token = "written-bytes-token";
    const server = await serveEmulator({ dataDir, token, port: 0 });
    try {
      const http = new HttpBackend({ endpoint: server.url, token });
      expect(await http.writtenBytes("Instance", instance.id)).toBe(2 * MiB);
      expect(await http.writtenBytes("Instance", diskless.id)).toBeUndefined();
      expect(await http.writtenBytes("Instance", "i-ffffff")).toBeUndefined();
    } finally {
      await server.close();
    }
  }, 20_000);
});
