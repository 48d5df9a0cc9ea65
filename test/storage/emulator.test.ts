// The data plane under the in-process Emulator: local disks through reboot, stop and terminate;
// rehearsals touch no bytes; pools grow by adding LUNs; snapshots honour delete protection.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { specs } from "../emulator-http/helpers.ts";
import { tempDir } from "../volumes/helpers.ts";

const MiB = 1024 * 1024;
const opened: { emulator: Emulator; remove(): Promise<void> }[] = [];

async function open() {
  const dir = await tempDir("storage-emulator");
  const emulator = Emulator.open(dir.path);
  opened.push({ emulator, remove: dir.remove });
  return { emulator, dir: dir.path };
}

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.emulator.close();
    await o.remove();
  }
});

function world(emulator: Emulator) {
  const cluster = emulator.create("Cluster", specs.cluster, { name: "cluster.web" });
  const image = emulator.create("Image", specs.image, { name: "image.app" });
  const digest = (image.outputs.variants as Record<string, { digest: string }>).light!.digest;
  const instance = emulator.create("Instance", { ...specs.instance(cluster.id, image.id, digest), localDiskGiB: 1 }, { name: "instances.web/app[0]" });
  return { cluster, image, instance };
}

describe("the data plane of the emulator", () => {
  it("keeps a local disk through a reboot, wipes it on stop and deletes it on terminate", async () => {
    const { emulator, dir } = await open();
    const { instance } = world(emulator);
    const plane = emulator.dataPlane!;
    const disk = async () => (await plane.instanceDevice(instance.id, "vda", "write")).device;
    await (await disk()).write(0, Buffer.alloc(MiB, 0x33));
    emulator.instanceAction(instance.id, "reboot");
    expect((await (await disk()).read(0, MiB)).equals(Buffer.alloc(MiB, 0x33))).toBe(true);
    emulator.instanceAction(instance.id, "stop");
    await expect(plane.instanceDevice(instance.id, "vda", "read")).rejects.toThrow(/stopped/);
    emulator.instanceAction(instance.id, "start");
    expect((await (await disk()).read(0, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
    const host = instance.outputs.host as string;
    const hostPool = join(dir, "local", host);
    expect(JSON.parse(readFileSync(join(hostPool, "pool.json"), "utf8")).volumes).toHaveLength(1);
    emulator.delete("Instance", instance.id);
    await emulator.settled();
    const metadata = JSON.parse(readFileSync(join(hostPool, "pool.json"), "utf8"));
    expect(metadata.volumes).toEqual([]);
    await expect(plane.instanceDevice(instance.id, "vda", "read")).rejects.toThrow(/terminated/);
  });

  it("lets a rehearsal change everything without touching a file", async () => {
    const { emulator, dir } = await open();
    const pool = emulator.create("StoragePool", specs.pool, { name: "pool.fast" });
    const volume = emulator.create("Volume", specs.volume(pool.id), { name: "volume.data" });
    await emulator.settled();
    const before = readdirSync(join(dir, "pools")).sort();
    const rehearsal = emulator.rehearsal();
    expect(rehearsal.dataPlane).toBeUndefined();
    rehearsal.create("StoragePool", specs.pool, { name: "pool.other" });
    rehearsal.create("Snapshot", { volume: volume.id }, { name: "snapshot.s" });
    rehearsal.delete("Volume", volume.id);
    await rehearsal.settled();
    await emulator.settled();
    expect(readdirSync(join(dir, "pools")).sort()).toEqual(before);
    expect((await emulator.dataPlane!.poolUsage(pool.id)).volumes.map((v) => v.id)).toEqual([volume.id]);
  });

  it("grows a pool's LUNs and adds new ones in place, keeping the bytes", async () => {
    const { emulator, dir } = await open();
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 1 }] }, { name: "pool.fast" });
    const volume = emulator.create("Volume", { pool: pool.id, sizeGiB: 0.5 }, { name: "volume.data" });
    const device = await emulator.dataPlane!.volumeDevice(volume.id);
    await device.write(0, Buffer.alloc(MiB, 0x61));
    await device.flush();
    emulator.update("StoragePool", pool.id, { media: "ssd", devices: [{ sizeGiB: 2 }, { sizeGiB: 1 }] }, { restart: false });
    const usage = await emulator.dataPlane!.poolUsage(pool.id);
    expect(usage.luns.map((l) => l.sizeBytes)).toEqual([2048 * MiB, 1024 * MiB]);
    expect(statSync(join(dir, "pools", pool.id, "lun-1.img")).size).toBe(1024 * MiB);
    const reopened = await emulator.dataPlane!.volumeDevice(volume.id);
    expect((await reopened.read(0, MiB)).equals(Buffer.alloc(MiB, 0x61))).toBe(true);
    // removing a device would drop the volume data on its LUN
    expect(() => emulator.update("StoragePool", pool.id, { media: "ssd", devices: [{ sizeGiB: 2 }] }, { restart: false })).toThrow(/cannot be removed/);
  });

  it("refuses to delete a protected snapshot and a pool still holding snapshots", async () => {
    const { emulator, dir } = await open();
    const pool = emulator.create("StoragePool", specs.pool, { name: "pool.fast" });
    const volume = emulator.create("Volume", specs.volume(pool.id), { name: "volume.data" });
    const snapshot = emulator.create("Snapshot", { volume: volume.id, deleteProtection: true }, { name: "snapshot.s" });
    expect(() => emulator.delete("Snapshot", snapshot.id)).toThrow(/delete protection/);
    // the volume may go: its snapshot keeps the blocks
    emulator.delete("Volume", volume.id);
    expect(() => emulator.delete("StoragePool", pool.id)).toThrow(/still holds snapshots snapshot\.s/);
    await emulator.settled();
    expect((await emulator.dataPlane!.poolUsage(pool.id)).volumes.map((v) => [v.id, v.kind])).toEqual([[snapshot.id, "snapshot"]]);
    emulator.update("Snapshot", snapshot.id, { volume: volume.id, deleteProtection: false }, { restart: false });
    emulator.delete("Snapshot", snapshot.id);
    emulator.delete("StoragePool", pool.id);
    await emulator.settled();
    expect(existsSync(join(dir, "pools", pool.id))).toBe(false);
  });
});
