// The NBD server's buffers: a slab for small replies and headers, and pools of large buffers for
// READ replies and WRITE payloads, so steady traffic allocates nothing large.

export const EMPTY = Buffer.alloc(0);
export const REPLY_HEADER_BYTES = 16;
/** Read replies at least this large are written without waiting for the cork to batch them. */
export const UNCORKED_REPLY_BYTES = 256 * 1024;
/** Bytes per receive syscall with UserBufferReader. */
export const RECEIVE_BUFFER_BYTES = 1024 * 1024;
export const STAGE_INITIAL_BYTES = 256 * 1024;
export const STAGE_KEEP_BYTES = 4 * 1024 * 1024;
const SLAB_BYTES = 1024 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** A fresh buffer of `size` bytes cut from a shared slab (8-byte aligned), like Buffer's own pool
 *  but big enough for 4 KiB read replies plus their header. */
export function smallBuffer(size: number): Buffer {
  if (size > SLAB_BYTES / 8) return Buffer.allocUnsafe(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed = (slabUsed + size + 7) & ~7;
  return out;
}

/** Buffers by capacity (`headroom` + a power of two), reused once released: steady traffic
 *  allocates nothing, so it triggers no external-memory garbage collections. */
class BufferPool {
  private readonly headroom: number;
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  private static readonly MAX_FREE_BYTES = 64 * 1024 * 1024;

  constructor(headroom: number) {
    this.headroom = headroom;
  }

  acquire(size: number): Buffer {
    const capacity = this.headroom + 2 ** Math.ceil(Math.log2(Math.max(1, size - this.headroom)));
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeBytes -= capacity;
      return reused;
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  release(buffer: Buffer): void {
    if (this.freeBytes + buffer.length > BufferPool.MAX_FREE_BYTES) return; // left to the GC
    let list = this.free.get(buffer.length);
    if (list === undefined) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.freeBytes += buffer.length;
  }
}
/** Read replies: the 16-byte header, then the payload. */
export const replyPool = new BufferPool(REPLY_HEADER_BYTES);
/** WRITE payloads received by UserBufferReader. */
export const payloadPool = new BufferPool(0);

