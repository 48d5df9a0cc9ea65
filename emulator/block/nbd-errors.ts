// Why an NBD connection ends, and how a device failure is told to the client (an NBD errno).

import { StorageError } from "./block-device.ts";
import * as P from "./nbd-protocol.ts";

/** Thrown inside a connection when the peer broke the protocol: the connection is dropped. */
export class ProtocolViolation extends Error {}
export class ConnectionClosed extends Error {}
/** The client failed access control (TLS, time limit): the connection is dropped. */
export class HandshakeRefused extends Error {}

export function errorNumber(error: unknown, log: (message: string) => void): number {
  if (error instanceof StorageError) {
    switch (error.code) {
      case "ENOSPC":
      case "OVERCOMMIT":
      case "QUOTA":
        return P.ENOSPC;
      case "EPERM":
        return P.EPERM;
      case "EINVAL":
        return P.EINVAL;
      default:
        log(`I/O failed: ${error.message}`);
        return P.EIO;
    }
  }
  log(`I/O failed: ${error instanceof Error ? error.message : String(error)}`);
  return P.EIO;
}

