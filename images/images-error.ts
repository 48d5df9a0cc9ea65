// Errors of the images layer a user acts on: a lock that cannot be read, a package catalog that is
// not there. Anything else thrown from images/ is a bug in virtform and is reported as one.
import { VirtformError } from "../core/virtform-error.ts";

export type ImagesErrorCode = "lock-invalid" | "lock-unreadable" | "lock-newer" | "catalog-unavailable";

export class ImagesError extends VirtformError<ImagesErrorCode> {
  readonly layer = "images";
}
