// JournalFile: a journal cut at every byte (a kill mid-write) replays its whole lines and nothing
// else, and the next append starts on a line of its own; a bad line elsewhere is damage; compact
// leaves the snapshot and no journal; a process SIGKILLed while appending leaves records 0..n-1.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JournalDamagedError, JournalFile } from "../../durable/journal-file.ts";
import { makeWorkdir } from "../helpers/cli.ts";

interface Entry {
  n: number;
  text: string;
}

const entry = (n: number): Entry => ({ n, text: `record ${n}` });
const tempJournal = () => join(makeWorkdir("virtform-journal-"), "j.journal");

describe("JournalFile", () => {
  it("cut at any byte: replay gives the whole lines only, and an append after the cut is read back", () => {
    const path = tempJournal();
    const writer = new JournalFile<Entry>(path);
    for (let n = 0; n < 3; n++) writer.append(entry(n));
    writer.close();
    const full = readFileSync(path);
    for (let cut = 0; cut <= full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut));
      const whole = full.subarray(0, cut).toString().split("\n").length - 1; // lines with their newline
      const journal = new JournalFile<Entry>(path);
      const replayed = journal.replay(() => {});
      expect(journal.readAll(), `cut at ${cut}`).toEqual([0, 1, 2].slice(0, whole).map(entry));
      expect(replayed.torn).toBe(cut > 0 && full[cut - 1] !== 0x0a);
      journal.append(entry(9));
      journal.close();
      expect(new JournalFile<Entry>(path).readAll(), `cut at ${cut}`).toEqual([...[0, 1, 2].slice(0, whole).map(entry), entry(9)]);
    }
  });

  it("a line that does not parse before the last is damage, named by its line", () => {
    const path = tempJournal();
    writeFileSync(path, `${JSON.stringify(entry(0))}\n{"n":\n${JSON.stringify(entry(2))}\n`);
    expect(() => new JournalFile<Entry>(path).readAll()).toThrow(JournalDamagedError);
    expect(() => new JournalFile<Entry>(path).readAll()).toThrow(`${path} is damaged at line 2`);
  });

  it("compact writes the snapshot and removes the journal; appends after it start a new one", () => {
    const path = tempJournal();
    const snapshot = path.replace(/\.journal$/, ".json");
    const journal = new JournalFile<Entry>(path);
    journal.append(entry(0));
    expect(journal.sizeOnDisk()).toBe(readFileSync(path).length);
    journal.compact(snapshot, "[0]");
    expect(existsSync(path)).toBe(false);
    expect(journal.isOpen).toBe(false);
    expect(readFileSync(snapshot, "utf8")).toBe("[0]");
    journal.append(entry(1));
    expect(new JournalFile<Entry>(path).readAll()).toEqual([entry(1)]);
    journal.close();
  });

  it("a process SIGKILLed while appending leaves records 0..n-1, and the next writer carries on", async () => {
    const path = tempJournal();
    const module = fileURLToPath(new URL("../../durable/journal-file.ts", import.meta.url));
    const child = spawn(process.execPath, [
      "--input-type=module",
      "-e",
      `import { JournalFile } from ${JSON.stringify(module)};
       const journal = new JournalFile(${JSON.stringify(path)});
       const pad = "x".repeat(3000);
       for (let n = 0; ; n++) { journal.append({ n, text: pad }); if (n === 100) console.log("running"); }`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const survived = new JournalFile<{ n: number }>(path).readAll().map((r) => r.n);
    expect(survived.length).toBeGreaterThan(100);
    expect(survived).toEqual(survived.map((_, i) => i));
    // Torn or not, the next writer's record follows the survivors.
    appendFileSync(path, '{"n":');
    const next = new JournalFile<{ n: number }>(path);
    next.append({ n: survived.length });
    next.close();
    expect(new JournalFile<{ n: number }>(path).readAll().map((r) => r.n)).toEqual([...survived, survived.length]);
    truncateSync(path, 0);
  });
});
