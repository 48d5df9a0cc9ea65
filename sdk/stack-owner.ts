// Every handle belongs to the stack whose builder declared it. Its Outputs name an address only, so
// a handle used in another stack would bind to whatever that stack declares under the same name,
// or to nothing. Each such use is an error at its line, reported to both stacks: the one a program
// evaluates may be either.
import type { Diagnostic, SourceLocation } from "../core/model.ts";

/** The stack a handle belongs to: the builder that declared it. */
export interface StackOwner {
  readonly stackName: string;
  /** Problems found while the program ran that belong to no single declaration. */
  readonly problems: Diagnostic[];
}

/** A handle of another stack found in what a declaration (or a stack's outputs) uses. */
export interface ForeignUse {
  /** The handle's address in its own stack, e.g. "volume.logs". */
  address: string;
  owner: StackOwner;
  /** Where the declaration holds it: "source", "instance", "dependsOn". */
  path: string;
}

/** The error for one foreign use, at the line of the use, naming both stacks. */
export function foreignUseProblem(
  user: { address: string; owner: StackOwner; source?: SourceLocation | undefined },
  use: ForeignUse,
): Diagnostic {
  const theirs = use.owner.stackName === user.owner.stackName ? `another builder of stack "${use.owner.stackName}"` : `stack "${use.owner.stackName}"`;
  return {
    severity: "error",
    address: user.address,
    ...(use.path ? { path: use.path } : {}),
    ...(user.source ? { source: user.source } : {}),
    message:
      `${use.address} belongs to ${theirs} and cannot be used in stack "${user.owner.stackName}": ` +
      "a handle works only in the stack that declared it; pass ids between stacks as plain values (virtform output --json)",
  };
}
