// ValidateResourceConfig's answers by the configuration's bytes, for the life of one launch. Terraform
// validates every resource in two of its launches per command, and the resources of a `count` or
// `for_each` (or any written alike) send the same bytes: their zod parse is done once.
import type { Diagnostic } from "./diagnostics.ts";

/** Past this many different configurations the memory is dropped and starts again. */
const LIMIT = 50_000;

export class ValidatedConfigs {
  private readonly answers = new Map<string, Diagnostic[]>();

  /** `validate`'s answer for this type and these bytes, computed once. */
  get(typeName: string, bytes: Uint8Array | undefined, validate: () => Diagnostic[]): Diagnostic[] {
    const key = `${typeName}\0${bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1") : ""}`;
    let answer = this.answers.get(key);
    if (!answer) {
      if (this.answers.size >= LIMIT) this.answers.clear();
      answer = validate();
      this.answers.set(key, answer);
    }
    return answer;
  }
}
