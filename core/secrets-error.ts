// Secrets that cannot be sealed or opened: a missing or wrong passphrase, a damaged value or key file.
// Both the engine's state and the emulator's data keep secrets at rest, so both throw this one error.
import { VirtformError } from "./virtform-error.ts";

export class SecretsError extends VirtformError<"passphrase-needed" | "wrong-passphrase" | "damaged"> {
  readonly layer = "secrets";
  /** Set when opening a value failed: the passphrase is not the one it was sealed with, or the value is damaged. */
  readonly reason: "wrong-passphrase" | "damaged" | undefined;

  constructor(message: string, reason?: "wrong-passphrase" | "damaged") {
    super(reason ?? "passphrase-needed", message);
    this.reason = reason;
  }
}
