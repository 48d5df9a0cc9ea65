// A value another resource produces when it is applied: typed, but not readable while the program
// runs. The engine turns it into a reference and resolves it during apply.
import type { Reference } from "../engine/model.ts";

export class Output<T> {
  readonly address: string;
  readonly path: string;
  /** Phantom: carries T for the type checker; there is no value at declaration time. */
  declare readonly __value?: T;

  constructor(address: string, path: string) {
    this.address = address;
    this.path = path;
  }

  toReference(): Reference {
    return { $ref: this.address, path: this.path };
  }

  toString(): string {
    throw new Error(`${this.address}.${this.path} is known only after apply; pass the Output itself instead of a string`);
  }
}
