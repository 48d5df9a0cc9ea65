// secret(value): marks a value the program passes as sensitive. It is validated and applied as the
// plain value, but redacted in every output and encrypted in state like a kind's secret fields.
export class Secret<T> {
  readonly value: T;

  constructor(value: T) {
    this.value = value;
  }

  toString(): string {
    return "(sensitive)";
  }

  toJSON(): string {
    return "(sensitive)";
  }
}

export function secret<T extends string | number | boolean>(value: T): Secret<T> {
  return new Secret(value);
}

/** The DSL accepts a Secret wherever a plain value of that type goes. */
export type MaybeSecret<T> = T | Secret<T>;
