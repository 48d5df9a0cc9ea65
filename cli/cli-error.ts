import { VirtformError } from "../core/virtform-error.ts";

/** An error the user can act on, found by the CLI itself (a bad option, a missing file): exit code 1 unless said otherwise. */
export class CliError extends VirtformError<"refused"> {
  readonly layer = "cli";
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super("refused", message);
    this.exitCode = exitCode;
  }
}
