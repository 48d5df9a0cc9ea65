// NBD over TLS with a pre-shared key, as nbdkit's `--tls=require --tls-psk` and qemu's
// `tls-creds-psk`: the connection starts in plain text and the client upgrades it in the handshake
// with NBD_OPT_STARTTLS; the server then wraps the accepted socket in a TLS server socket that
// knows only the one PSK identity (no certificates). Whether TLS is required at all is decided
// here too: always beyond loopback, and on loopback unless the server was told "insecure".

import { BlockList, isIP, type Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";
import type { PskCredentials } from "./psk-file.ts";

/** What a server demands of its clients: TLS with this key, or plain NBD (loopback only). */
export type NbdSecurity = { psk: PskCredentials } | "insecure";

/**
 * TLS 1.3 suites first (AES-GCM before ChaCha20: hosts with AES instructions encrypt faster), then
 * TLS 1.2 PSK suites with forward secrecy, the ones GnuTLS (qemu, libnbd, nbdkit) offers for PSK.
 */
const CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-PSK-CHACHA20-POLY1305",
  "ECDHE-PSK-AES256-CBC-SHA384",
  "ECDHE-PSK-AES128-CBC-SHA256",
].join(":");

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const mapped = /^::ffff:/i.test(bare) ? bare.slice(7) : bare;
  if (isIP(mapped) === 4) return LOOPBACK.check(mapped, "ipv4");
  return isIP(bare) === 6 && LOOPBACK.check(bare, "ipv6");
}

/**
 * Wraps `socket` (whose peer has just been told to start TLS) as the TLS server and resolves once
 * the handshake completed; rejects if the client's identity or key is wrong or it disconnects.
 */
export function upgradeToTls(socket: Socket, psk: PskCredentials): Promise<TLSSocket> {
  let refused: string | undefined;
  const secure = new TLSSocket(socket, {
    isServer: true,
    secureContext: createSecureContext({ ciphers: CIPHERS, minVersion: "TLSv1.2", honorCipherOrder: true }),
    pskCallback: (_socket: TLSSocket, identity: string) => {
      if (identity === psk.identity) return psk.key;
      refused = `unknown PSK identity ${JSON.stringify(identity)}`;
      return null;
    },
  } as ConstructorParameters<typeof TLSSocket>[1]);
  secure.setNoDelay(true);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      secure.off("secure", done);
      secure.destroy();
      reject(new Error(`TLS handshake failed: ${refused ?? why}`));
    };
    const onError = (error: Error & { reason?: string }) => {
      // OpenSSL's reasons for a PSK that does not match (TLS 1.3 binder, TLS 1.2 record MAC).
      const wrongKey = /binder does not verify|bad record mac|decrypt/i.test(error.reason ?? error.message);
      fail(wrongKey ? `wrong pre-shared key for identity ${JSON.stringify(psk.identity)}` : (error.reason ?? error.message));
    };
    const onClose = () => fail("the client closed the connection");
    const done = () => {
      secure.off("error", onError);
      secure.off("close", onClose);
      secure.on("error", () => undefined); // later errors surface as a closed connection
      resolve(secure);
    };
    secure.once("secure", done);
    secure.once("error", onError);
    secure.once("close", onClose);
  });
}
