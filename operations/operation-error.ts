// Why an operation refused before or instead of changing anything: the operations layer's codes.
import { VirtformError } from "../core/virtform-error.ts";

export type OperationErrorCode =
  /** The program holds secret values and state has no passphrase to keep them encrypted. */
  | "secrets-need-passphrase"
  /** The backend holds objects of the stack that state lost, and the plan would create them again. */
  | "lost-objects"
  /** State names a kind this virtform does not know (a hand edit, a damaged file). */
  | "unknown-kind-in-state"
  /** An import batch with a problem: nothing of it was imported. */
  | "import-refused"
  /** An option the operation cannot use (e.g. parallelism below 1). */
  | "bad-option";

export class OperationError extends VirtformError<OperationErrorCode> {
  readonly layer = "operation";
}
