// The state file and its journal on disk: records replayed over the snapshot, a torn last line (a
// kill mid-write) cut off so later records stay readable, and compaction into the snapshot.
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStateStore } from "../../engine/state-file.ts";
import { HISTORY_KEEP, historyDir, newestGoodSnapshot } from "../../engine/state-history.ts";
import { StateFileError } from "../../engine/state.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const resource = (id: string) => ({ kind: "Volume", id, inputs: { sizeGiB: 1 }, outputs: {}, dependsOn: [] });

describe("FileStateStore", () => {
  it("replays the journal, survives a torn last line, and compacts", async () => {
    const dir = makeWorkdir("virtform-state-");
    const path = join(dir, "s.json");
    const first = new FileStateStore(path, "s");
    const state = await first.load();
    await first.record(state, { type: "set", address: "volume.a", resource: resource("v1") });
    appendFileSync(first.journalPath, '{"type":"set","address":"volume.b","resou'); // killed mid-write

    const second = new FileStateStore(path, "s");
    const reloaded = await second.load();
    expect(Object.keys(reloaded.resources)).toEqual(["volume.a"]);
    expect(reloaded.lineage).toBe(state.lineage); // on disk since the first record, before any commit
    expect(reloaded.serial).toBe(1);
    await second.record(reloaded, { type: "set", address: "volume.c", resource: resource("v3") });
    expect(readFileSync(second.journalPath, "utf8").trim().split("\n")).toHaveLength(2);

    const third = new FileStateStore(path, "s");
    const again = await third.load();
    expect(Object.keys(again.resources).sort()).toEqual(["volume.a", "volume.c"]);
    await third.commit(again);
    expect(existsSync(third.journalPath)).toBe(false);
    const snapshot = JSON.parse(readFileSync(path, "utf8")) as { serial: number; resources: object; lineage: string };
    expect(snapshot.serial).toBe(2);
    expect(Object.keys(snapshot.resources).sort()).toEqual(["volume.a", "volume.c"]);
    expect((await new FileStateStore(path, "s").load()).lineage).toBe(snapshot.lineage);
  });

  it("peek reads another process's state without repairing its journal", async () => {
    const dir = makeWorkdir("virtform-state-");
    const path = join(dir, "s.json");
    const writer = new FileStateStore(path, "s");
    const state = await writer.load();
    await writer.record(state, { type: "set", address: "volume.a", resource: resource("v1") });
    appendFileSync(writer.journalPath, '{"type":"set","address":"volume.b","resou'); // a write in progress
    const before = readFileSync(writer.journalPath, "utf8");
    expect(Object.keys(new FileStateStore(path, "s").peek().resources)).toEqual(["volume.a"]);
    expect(readFileSync(writer.journalPath, "utf8")).toBe(before);
  });

  it("keeps the newest snapshots by serial in history, and names the newest that parses when the state file is corrupt", async () => {
    const dir = makeWorkdir("virtform-history-");
    const path = join(dir, "s.json");
    const store = new FileStateStore(path, "s");
    const state = await store.load();
    for (let i = 0; i < HISTORY_KEEP + 3; i++) {
      await store.record(state, { type: "set", address: `volume.v${i}`, resource: resource(`v${i}`) });
      await store.commit(state);
    }
    const history = historyDir(path, "s");
    const kept = readdirSync(history).map((f) => Number(f.replace(".json", ""))).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: HISTORY_KEEP }, (_, i) => state.serial - HISTORY_KEEP + 1 + i));
    expect(readFileSync(join(history, `${state.serial}.json`), "utf8")).toBe(readFileSync(path, "utf8"));

    writeFileSync(join(history, `${state.serial}.json`), "{"); // the newest copy is damaged too
    expect(newestGoodSnapshot(history)?.serial).toBe(state.serial - 1);
    writeFileSync(path, "null");
    expect(() => new FileStateStore(path, "s").loadSync()).toThrow(StateFileError);
    expect(() => new FileStateStore(path, "s").loadSync()).toThrow(`is not a state document (not a JSON object).\nThe newest kept snapshot that parses is ${join(history, `${state.serial - 1}.json`)}`);
  });
});
