// The one loop of the data path: how a byte range falls onto 1 MiB chunks.
import { describe, expect, it } from "vitest";
import { CHUNK_SIZE_BYTES, forEachChunkSpan } from "../../emulator/block/chunk-span.ts";

const MiB = CHUNK_SIZE_BYTES;

function spans(offset: number, length: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  forEachChunkSpan(offset, length, (chunk, within, done, n) => out.push([chunk, within, done, n]));
  return out;
}

describe("forEachChunkSpan", () => {
  it.each<[string, number, number, [number, number, number, number][]]>([
    ["an empty range visits nothing", 5, 0, []],
    ["inside one chunk", 4096, 512, [[0, 4096, 0, 512]]],
    ["exactly one chunk", MiB, MiB, [[1, 0, 0, MiB]]],
    ["ends on a chunk boundary", MiB - 10, 10, [[0, MiB - 10, 0, 10]]],
    ["crosses one boundary", MiB - 10, 20, [[0, MiB - 10, 0, 10], [1, 0, 10, 10]]],
    ["spans whole chunks between partial ones", 2 * MiB - 1, MiB + 2, [[1, MiB - 1, 0, 1], [2, 0, 1, MiB], [3, 0, MiB + 1, 1]]],
  ])("%s", (_name, offset, length, expected) => {
    expect(spans(offset, length)).toEqual(expected);
  });
});
