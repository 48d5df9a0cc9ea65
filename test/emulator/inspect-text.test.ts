// `virtform emulator inspect` as text: a section for every collection, snapshots included (the
// hand-written list of sections once left them out).
import { describe, expect, it } from "vitest";
import { inspectText } from "../../cli/commands/emulator.ts";
import { COLLECTIONS } from "../../emulator/http/collections.ts";
import { Emulator } from "../../emulator/emulator.ts";

describe("emulator inspect text", () => {
  it("has one section per collection and a line per object", () => {
    const emulator = Emulator.inMemory();
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }] }, { name: "pool.fast" });
    const volume = emulator.create("Volume", { pool: pool.id, sizeGiB: 50 }, { name: "volume.data" });
    const snapshot = emulator.create("Snapshot", { volume: volume.id }, { name: "snapshot.nightly" });
    const text = inspectText(emulator.inspect());
    const sections = text.split("\n").filter((line) => /^\S/.test(line)).map((line) => line.split(" ")[0]);
    expect(sections.toSorted()).toEqual(Object.keys(COLLECTIONS).toSorted());
    expect(text).toContain(`snapshots (1)\n  ${snapshot.id}  snapshot.nightly  50 GiB of ${volume.id}\n`);
    expect(text).toContain(`volumes (1)\n  ${volume.id}  volume.data  50 GiB\n`);
  });
});

