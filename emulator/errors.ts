// Errors the emulator answers with; the HTTP API maps each code to a status (404, 409, 422; capacity
// is a 409 too), and its OpenAPI document lists them from here.
import { VirtformError } from "../core/virtform-error.ts";

export const EMULATOR_ERROR_CODES = ["not-found", "conflict", "invalid", "capacity"] as const;
export type EmulatorErrorCode = (typeof EMULATOR_ERROR_CODES)[number];

export class EmulatorError extends VirtformError<EmulatorErrorCode> {
  readonly layer = "emulator";
}

export const notFound = (what: string, id: string) => new EmulatorError("not-found", `${what} ${id} does not exist`);
export const conflict = (message: string) => new EmulatorError("conflict", message);
