// The pure parts of NBD access control: psktool key files and which hosts count as loopback.

import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "../../emulator/block/nbd-tls.ts";
import { formatPskFile, generatePsk, parsePskFile, writePskFile } from "../../emulator/block/psk-file.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const KEY = "00112233445566778899aabbccddeeff";

describe("psktool key files", () => {
  it.each([
    ["one entry", `virtform:${KEY}\n`, { identity: "virtform", key: KEY }],
    ["the first of several, comments and blank lines skipped", `# keys\n\nalice:${KEY}ff\nbob:${KEY}\n`, { identity: "alice", key: `${KEY}ff` }],
    ["upper-case hex, no final newline", `x:${KEY.toUpperCase()}`, { identity: "x", key: KEY }],
  ])("reads %s", (_what, text, expected) => {
    const psk = parsePskFile(text, "keys.psk");
    expect({ identity: psk.identity, key: psk.key.toString("hex") }).toEqual(expected);
  });

  it.each([
    ["no separator", "virtform\n", /keys\.psk:1: expected "identity:hexkey"/],
    ["a key that is not hex", "virtform:xyz\n", /keys\.psk:1: expected/],
    ["an odd number of hex digits", `virtform:${KEY}f\n`, /keys\.psk:1: expected/],
    ["a short key", "# short\nvirtform:0011\n", /keys\.psk:2: the key has 2 bytes; use at least 16/],
    ["no entry", "# nothing\n\n", /keys\.psk: no "identity:hexkey" line/],
  ])("refuses %s, naming the file and line", (_what, text, message) => {
    expect(() => parsePskFile(text, "keys.psk")).toThrow(message);
  });

  it("writes what it reads back, 0600 in a 0700 dir, replacing an older key", () => {
    const dir = makeWorkdir("virtform-psk-");
    try {
      const keys = join(dir, "tls");
      writePskFile(keys, generatePsk());
      writeFileSync(join(keys, "keys.psk"), "old", { mode: 0o644 });
      const psk = generatePsk("someone");
      const path = writePskFile(keys, psk);
      expect(path).toBe(join(keys, "keys.psk"));
      expect(readFileSync(path, "utf8")).toBe(formatPskFile(psk));
      expect(parsePskFile(readFileSync(path, "utf8"), path)).toEqual(psk);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(keys).mode & 0o777).toBe(0o700);
      expect(psk.key.length).toBe(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("loopback hosts (where plain NBD may be served)", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["128.0.0.1", false],
    ["::ffff:10.0.0.1", false],
    ["example.com", false],
    ["", false],
  ])("%s -> %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
