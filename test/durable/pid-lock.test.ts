// PidLock: a lock whose owner was SIGKILLed is taken over; of two openers that both saw the dead
// owner, only one holds the lock (the second finds the first's fresh lock and removes nothing: the
// race the thin pool's own lock had); processes racing for a dead owner's pool.lock: one wins.
import { spawn, spawnSync } from "node:child_process";
import fs, { readFileSync, rmSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PidLock, type LockFormat, type LockOwner } from "../../durable/pid-lock.ts";
import { takePoolLock } from "../../emulator/block/pool-lock.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const barePid: LockFormat<LockOwner> = {
  encode: (owner) => `${owner.pid}\n`,
  decode: (text) => (/^\d+\n$/.test(text) ? { pid: Number(text) } : undefined),
};
/** A pid no process has any more. */
const gonePid = spawnSync("true").pid!;
const tempLock = () => join(makeWorkdir("virtform-pidlock-"), "x.lock");

function run(script: string): Promise<string> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once("exit", () => resolve(out)));
}

describe("PidLock", () => {
  it("two openers that both saw a dead owner: the second does not remove the first's fresh lock", () => {
    const path = tempLock();
    writeFileSync(path, `${gonePid}\n`);
    const first = new PidLock(path, barePid);
    const second = new PidLock(path, barePid);
    const seenBySecond = readFileSync(path, "utf8"); // the second looks, sees a dead owner, and is preempted
    expect(second.holder()).toEqual({ owner: { pid: gonePid }, stale: true });
    expect(first.acquire({ pid: process.pid })).toEqual({ taken: true });
    expect(second.takeOver(seenBySecond)).toBe(false);
    expect(second.tryCreate({ pid: process.pid })).toBe(false);
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
    expect(first.acquire({ pid: process.pid })).toEqual({ taken: false, holder: { owner: { pid: process.pid }, stale: false } });
  });

  it("pool.lock: an opener preempted right after it read the dead owner's pid leaves the other opener's fresh lock alone", () => {
    const dir = makeWorkdir("virtform-pool-lock-");
    const path = join(dir, "pool.lock");
    writeFileSync(path, `${gonePid}\n`);
    const other = process.ppid; // a live process: the opener that got there first
    const original = fs.readFileSync;
    let preempted = false;
    fs.readFileSync = function (this: unknown, ...args: unknown[]) {
      const text = (original as (...a: unknown[]) => unknown).apply(this, args);
      if (!preempted && args[0] === path) {
        preempted = true; // the other opener takes the dead owner's lock over now
        rmSync(path);
        writeFileSync(path, `${other}\n`);
      }
      return text;
    } as typeof fs.readFileSync;
    syncBuiltinESMExports();
    try {
      expect(() => takePoolLock(dir)).toThrow(`is open in process ${other}`);
    } finally {
      fs.readFileSync = original;
      syncBuiltinESMExports();
    }
    expect(preempted).toBe(true);
    expect(readFileSync(path, "utf8")).toBe(`${other}\n`);
  });

  it("a lock is released only by its owner, and a takeover is reported", () => {
    const path = tempLock();
    writeFileSync(path, `${gonePid}\n`);
    const lock = new PidLock(path, barePid);
    const previous: LockOwner[] = [];
    expect(lock.acquire({ pid: process.pid }, (p) => previous.push(p))).toEqual({ taken: true });
    expect(previous).toEqual([{ pid: gonePid }]);
    lock.release((owner) => owner.pid === gonePid);
    expect(lock.holder()?.owner).toEqual({ pid: process.pid });
    lock.release((owner) => owner.pid === process.pid);
    expect(lock.holder()).toBeUndefined();
  });

  it("the lock of a SIGKILLed owner is taken over by exactly one of the processes racing for it", async () => {
    const dir = makeWorkdir("virtform-pool-lock-");
    const module = fileURLToPath(new URL("../../emulator/block/pool-lock.ts", import.meta.url));
    const holder = spawn(process.execPath, [
      "--input-type=module",
      "-e",
      `import { takePoolLock } from ${JSON.stringify(module)}; takePoolLock(${JSON.stringify(dir)}); console.log("held"); setInterval(() => {}, 1000);`,
    ]);
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    holder.kill("SIGKILL");
    await new Promise((r) => holder.once("exit", r));
    expect(readFileSync(join(dir, "pool.lock"), "utf8")).toBe(`${holder.pid}\n`);
    // Each racer waits for the same instant, tries once, and holds what it took until all are done.
    const start = Date.now() + 600;
    const racer = `import { takePoolLock } from ${JSON.stringify(module)};
      while (Date.now() < ${start});
      try { takePoolLock(${JSON.stringify(dir)}); console.log("taken"); } catch (err) { console.log(err.code === "LOCKED" ? "locked" : String(err)); }
      setTimeout(() => {}, 400);`;
    const outcomes = (await Promise.all([run(racer), run(racer), run(racer)])).map((o) => o.trim());
    expect(outcomes.sort()).toEqual(["locked", "locked", "taken"]);
  });
});
