// The emulator's persistence: a snapshot plus a journal of committed transactions. A process killed
// before the journal is folded loses nothing; a torn last line is a transaction that never
// returned; a journal replayed onto a snapshot that already holds it changes nothing.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const tempDir = () => makeWorkdir("virtform-journal-");
const pool = { media: "ssd", devices: [{ sizeGiB: 100 }] };

function populate(emulator: Emulator): void {
  const p = emulator.create("StoragePool", pool, { name: "pool.p", token: "t-pool" });
  for (let i = 0; i < 5; i++) emulator.create("Volume", { pool: p.id, sizeGiB: 1 + i }, { name: `volume.v${i}`, token: `t-v${i}` });
  const v0 = emulator.list("Volume")[0]!;
  emulator.update("Volume", v0.id, { pool: p.id, sizeGiB: 10 }, { restart: false });
  emulator.delete("Volume", emulator.list("Volume")[1]!.id);
}

describe("emulator journal", () => {
  it("an emulator opened without the first one folding its journal (a killed process) has every object and event", async () => {
    const dir = tempDir();
    const first = Emulator.open(dir);
    populate(first);
    expect(existsSync(join(dir, "emulator.journal"))).toBe(true); // changes since the snapshot are in the journal
    const again = Emulator.open(dir);
    expect(again.inspect()).toEqual(first.inspect());
    expect(again.events()).toEqual(first.events());
    expect(again.findByToken("Volume", "t-v3")?.name).toBe("volume.v3");
    await first.close();
    await again.close();
  });

  it("a torn last line is ignored; a journal replayed onto a snapshot holding it changes nothing", async () => {
    const dir = tempDir();
    const first = Emulator.open(dir);
    populate(first);
    const journal = readFileSync(join(dir, "emulator.journal"), "utf8");
    const expected = { inspect: first.inspect(), events: first.events() };
    await first.close(); // folds the journal into the snapshot
    expect(existsSync(join(dir, "emulator.journal"))).toBe(false);
    // Killed between the snapshot's rename and the journal's removal, and mid-write of a next line.
    writeFileSync(join(dir, "emulator.journal"), journal);
    appendFileSync(join(dir, "emulator.journal"), '{"set":{"volumes":{"vol-0000ff":');
    const again = Emulator.open(dir);
    expect(again.inspect()).toEqual(expected.inspect);
    expect(again.events()).toEqual(expected.events);
    expect(existsSync(join(dir, "emulator.journal"))).toBe(false); // folded at once: nothing is appended to a torn line
    // It carries on from there: new ids do not collide.
    const made = again.create("Volume", { pool: again.list("StoragePool")[0]!.id, sizeGiB: 1 }, { name: "volume.new" });
    expect(Object.keys(expected.inspect.volumes)).not.toContain(made.id);
    expect(Emulator.open(dir).list("Volume").map((v) => v.name)).toContain("volume.new"); // from the journal: again is not closed
    await again.close();
  });
});
