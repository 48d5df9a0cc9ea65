// What an NBD server serves and how: the export a name resolves to, and the server's options.

import type { BlockDevice } from "./block-device.ts";
import type { NbdSecurity } from "./nbd-tls.ts";

export interface NbdExport {
  device: BlockDevice;
  /** Export read-only even if the device is writable (read-only attachments). */
  readOnly?: boolean;
  description?: string;
}

export interface NbdServerOptions {
  /** Resolves an export name (may be "" for the default export); undefined if there is none. */
  lookup(name: string): NbdExport | undefined | Promise<NbdExport | undefined>;
  /** Names for NBD_OPT_LIST. */
  list(): string[] | Promise<string[]>;
  /** Where protocol errors and closed connections are reported; defaults to stderr. */
  log?: (message: string) => void;
  /** TLS with a pre-shared key, required of every client before any export is named; or
   *  "insecure": plain NBD, which `listen` allows on loopback addresses only. */
  security: NbdSecurity;
  /** A client must have chosen an export (TLS included) within this time, or is dropped. */
  handshakeTimeoutMs?: number;
  /** Open connections one client address may hold; further ones are closed at once. */
  maxConnectionsPerClient?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Enough for a hypervisor host running a few dozen guests off one address, and for nbdcopy's
 *  multi-connection copies; far below what exhausts file descriptors. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;

