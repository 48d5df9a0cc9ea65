// Flushed data survives SIGKILL of the process serving it: written through real NBD clients,
// flushed, the server killed with SIGKILL, then verified by sha256 from a fresh process.

import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPoolMetadata } from "../../emulator/block/pool-metadata.ts";
import { runNbdClientTests, nbdUri, qemuIo, run, sha256File, startServerProcess, tempDir } from "./helpers.ts";

const MiB = 1024 * 1024;

describe.skipIf(!runNbdClientTests)("durability", () => {
  it("data written and flushed survives SIGKILL of the serving process", async () => {
    const dir = await tempDir("durable");
    const poolDir = join(dir.path, "pool");
    try {
      const first = await startServerProcess({
        dir: poolDir,
        create: { devices: [{ sizeBytes: 64 * MiB }, { sizeBytes: 64 * MiB }], overcommit: 2 },
        volumes: [{ id: "durable", sizeBytes: 48 * MiB }],
      });
      const input = join(dir.path, "payload.bin");
      await writeFile(input, randomBytes(20 * MiB));
      // nbdcopy --flush sends NBD_CMD_FLUSH before it exits
      const copy = await run("nbdcopy", ["--flush", input, nbdUri(first.port, "durable")]);
      expect(copy.code).toBe(0);
      const pattern = await qemuIo(first.port, "durable", "write -P 0xcd 40M 1M", "flush");
      expect(pattern.stdout).toContain("wrote 1048576/1048576 bytes at offset 41943040");
      expect(pattern.code).toBe(0);

      first.child.kill("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");
      const afterKill = await readPoolMetadata(poolDir);
      expect(afterKill.cleanShutdown).toBe(false); // it really died without closing

      const second = await startServerProcess({ dir: poolDir }); // a fresh process reopens the pool
      try {
        const output = join(dir.path, "readback.bin");
        const back = await run("nbdcopy", [nbdUri(second.port, "durable"), output]);
        expect(back.code).toBe(0);
        const whole = await readFile(output);
        expect(whole.length).toBe(48 * MiB);
        await writeFile(output, whole.subarray(0, 20 * MiB));
        expect(await sha256File(output)).toBe(await sha256File(input));
        const check = await qemuIo(second.port, "durable", "read -P 0xcd 40M 1M", "read -P 0 20M 20M");
        expect(check.stdout).toContain("read 1048576/1048576 bytes at offset 41943040");
        expect(check.stdout).not.toContain("Pattern verification failed");
        expect(check.code).toBe(0);
      } finally {
        second.child.kill("SIGTERM");
        expect(await second.exited).toBe("0"); // clean shutdown path
      }
      expect((await readPoolMetadata(poolDir)).cleanShutdown).toBe(true);
    } finally {
      await dir.remove();
    }
  });
});
