// The byte-addressed device the volume service hands out: a pool volume, a read-only view of one,
// or anything else the NBD server or the instance device API should serve.
import { VirtformError } from "../../core/virtform-error.ts";

/** Error codes a caller can act on; NBD maps them onto its own error numbers. */
export type StorageErrorCode =
  | "ENOSPC" // the pool has no free physical chunk left
  | "EPERM" // write to a read-only device or snapshot
  | "EINVAL" // offset/length outside the device, or a malformed argument
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "SHRINK_REFUSED"
  | "OVERCOMMIT" // the thin-provisioning limit would be exceeded
  | "QUOTA" // a per-pool or per-volume limit would be exceeded
  | "LOCKED" // another live process holds the pool
  | "EFBIG" // the host filesystem cannot hold a file that large
  | "CLOSED";

export class StorageError extends VirtformError<StorageErrorCode> {
  readonly layer = "storage";
}

export interface BlockDevice {
  /** Current size; may grow while the device is open (volumes grow in place). */
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  read(offset: number, length: number): Promise<Buffer>;
  /** Optional: reads into `target` at `at` instead of allocating (the NBD server reads straight
   *  into its reply buffer). `target` must not be touched until the promise settles. */
  readInto?(offset: number, length: number, target: Buffer, at: number): Promise<void>;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Optional: writes the concatenation of `pieces` at `offset` (the NBD server's fallback receive
   *  path passes the socket's buffers as received). Same semantics as write. */
  writev?(offset: number, pieces: readonly Uint8Array[]): Promise<void>;
  /** Make the range read as zeros; whole chunks are released instead of written. */
  writeZeroes(offset: number, length: number): Promise<void>;
  /** Persist every write that completed before this call (survives SIGKILL and power loss). */
  flush(): Promise<void>;
  /** Hint that the range is no longer needed; whole chunks inside it are freed. */
  trim(offset: number, length: number): Promise<void>;
}

/** Throws EINVAL unless [offset, offset+length) lies inside a device of `sizeBytes`. */
export function checkRange(sizeBytes: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StorageError("EINVAL", `invalid range: offset ${offset}, length ${length}`);
  }
  if (offset + length > sizeBytes) {
    throw new StorageError(
      "EINVAL",
      `range ${offset}+${length} ends beyond the device size ${sizeBytes}`,
    );
  }
}

/** A view that reads through to `device` and refuses every change with EPERM. */
export function readOnlyView(device: BlockDevice): BlockDevice {
  const refuse = (what: string): Promise<never> =>
    Promise.reject(new StorageError("EPERM", `${what} refused: the device is read-only`));
  return {
    get sizeBytes() {
      return device.sizeBytes;
    },
    readOnly: true,
    read: (offset, length) => device.read(offset, length),
    ...(device.readInto !== undefined && {
      readInto: (offset: number, length: number, target: Buffer, at: number) =>
        (device.readInto as NonNullable<BlockDevice["readInto"]>).call(device, offset, length, target, at),
    }),
    write: () => refuse("write"),
    writeZeroes: () => refuse("write-zeroes"),
    trim: () => refuse("trim"),
    // Nothing to persist from this view, but flushing is harmless and clients send it.
    flush: () => device.flush(),
  };
}
