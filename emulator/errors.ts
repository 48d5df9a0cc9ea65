// Errors the emulator answers with; the HTTP API maps each code to a status (404, 409, 422; capacity is a 409 too).
export type EmulatorErrorCode = "not-found" | "conflict" | "invalid" | "capacity";

export class EmulatorError extends Error {
  readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "EmulatorError";
  }
}

export const notFound = (what: string, id: string) => new EmulatorError("not-found", `${what} ${id} does not exist`);
export const conflict = (message: string) => new EmulatorError("conflict", message);
