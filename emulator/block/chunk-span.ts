// How a byte range of a volume falls onto chunks: the one loop every data-path operation walks.

/**
 * 1 MiB chunks: one map entry per MiB keeps a fully written 1 TiB volume at about a million entries
 * (memory and the whole-file metadata commit stay small), and matches common discard granularity.
 * The cost is amplification of small writes: the first write to a chunk after a snapshot copies
 * 1 MiB, and the first write to a reused slot zero-fills the rest of it.
 */
export const CHUNK_SIZE_BYTES = 1024 * 1024;

/**
 * Calls `visit` once per chunk the range [offset, offset + length) touches, in order:
 * `chunk` is the volume chunk index, `within` the offset inside it, `done` the bytes of the range
 * before this piece, `n` the piece's length (never crossing a chunk boundary).
 */
export function forEachChunkSpan(
  offset: number,
  length: number,
  visit: (chunk: number, within: number, done: number, n: number) => void,
): void {
  let done = 0;
  while (done < length) {
    const position = offset + done;
    const chunk = Math.floor(position / CHUNK_SIZE_BYTES);
    const within = position - chunk * CHUNK_SIZE_BYTES;
    const n = Math.min(length - done, CHUNK_SIZE_BYTES - within);
    visit(chunk, within, done, n);
    done += n;
  }
}
