// Storage errors as the emulator's, so the HTTP API answers them with its usual statuses.

import { EmulatorError } from "../errors.ts";
import { StorageError } from "../block/block-device.ts";

export function storageToEmulator(err: unknown): never {
  if (!(err instanceof StorageError)) throw err;
  const code = err.code === "NOT_FOUND" ? "not-found" : err.code === "ENOSPC" || err.code === "EFBIG" || err.code === "QUOTA" || err.code === "OVERCOMMIT" ? "capacity" : err.code === "EINVAL" ? "invalid" : "conflict";
  throw new EmulatorError(code, err.message);
}
