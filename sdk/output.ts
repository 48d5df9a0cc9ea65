// A value another resource produces when it is applied: typed, but not readable while the program
// runs. The engine turns it into a reference and resolves it during apply.
import type { Reference } from "../core/model.ts";
import type { StackOwner } from "./stack-owner.ts";

export class Output<T> {
  readonly address: string;
  readonly path: string;
  /** The stack of the resource that produces it: the address means something only there. */
  declare readonly owner: StackOwner;
  /** Phantom: carries T for the type checker; there is no value at declaration time. */
  declare readonly __value?: T;

  constructor(address: string, path: string, owner: StackOwner) {
    this.address = address;
    this.path = path;
    // Not enumerable: printing an Output shows its address and path, not the whole stack.
    Object.defineProperty(this, "owner", { value: owner, enumerable: false });
  }

  toReference(): Reference {
    return { $ref: this.address, path: this.path };
  }

  toString(): string {
    throw new Error(`${this.address}.${this.path} is known only after apply; pass the Output itself instead of a string`);
  }
}
