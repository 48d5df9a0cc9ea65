// The one base of every error virtform means a user to read. Each layer has its own subclass with a
// closed set of codes (a union type, so a renderer or a test can switch over them), and a message
// that says what happened and what to do. Anything else that reaches the top is a bug in virtform
// (cli/report-error.ts): that is the only case where a stack trace is shown.
export abstract class VirtformError<Code extends string = string> extends Error {
  /** Which layer refused: with `code`, what a caller or the OpenAPI document can rely on. */
  abstract readonly layer: string;
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export function isVirtformError(err: unknown): err is VirtformError {
  return err instanceof VirtformError;
}
