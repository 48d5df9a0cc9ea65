// What every DSL entry point checks of the values a program hands it, before anything is recorded:
// names (the documented pattern), argument objects, resource options (their schema) and handles.
// Nothing here throws: a bad value becomes a problem carrying the resource's address and the
// program's line, like a bad field, so a program with several mistakes hears of them all at once.
import type { Diagnostic, SourceLocation } from "../core/model.ts";
import type { Declaration } from "./declaration.ts";
import type { Kind } from "./kinds/kind.ts";
import { describeValue, NAME, NAME_RULE, nameText, stackName } from "./names.ts";
import { isDependable, resourceOptions, type ResourceOptions } from "./resource-options.ts";
import { callerLocation } from "./source-location.ts";

/**
 * Stands where a handle or a computed value was wrong (a string passed as a volume's `source`, a
 * variant matrix of non-objects); evaluation reports it at the field it sits in.
 */
export class InvalidArgument {
  readonly message: string;

  constructor(message: string) {
    this.message = message;
  }
}

/** An object of fields, as a DSL method's arguments must be. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export interface CheckedDeclaration {
  address: string;
  options: ResourceOptions;
  problems: Diagnostic[];
  /** False when the name is unusable: the declaration is reported but takes no address. */
  named: boolean;
}

/** The checks of one declaration: its name, its arguments object and its options. */
export function checkDeclaration(
  kind: Kind,
  name: unknown,
  args: unknown,
  options: unknown,
  source: SourceLocation | undefined,
): CheckedDeclaration {
  const address = `${kind.addressPrefix}.${nameText(name)}`;
  const problems: Diagnostic[] = [];
  const report = (message: string, path?: string) =>
    problems.push({ severity: "error", address, ...(path ? { path } : {}), ...(source ? { source } : {}), message });
  const nameProblem = checkName(kind, name);
  if (nameProblem) report(nameProblem);
  if (!isPlainObject(args)) report(`the arguments must be an object of fields, got ${describeValue(args)}`);
  let checkedOptions: ResourceOptions = {};
  if (options !== undefined) {
    const parsed = resourceOptions.safeParse(options);
    if (parsed.success) {
      checkedOptions = parsed.data;
      for (const problem of unknownInputPaths(kind, checkedOptions)) report(problem.message, problem.path);
    } else {
      for (const issue of parsed.error.issues) {
        const path = ["options", ...issue.path.map(String)].join(".");
        const message =
          issue.code === "invalid_union" ? "expected a resource or instance group of this program, or a list of them" : issue.message;
        report(message, path);
      }
    }
  }
  return { address, options: checkedOptions, problems, named: nameProblem === undefined };
}

/** ignoreChanges and replaceOnChanges name input fields of the kind (its schema's keys): a typo would silently do nothing. */
function unknownInputPaths(kind: Kind, options: ResourceOptions): { path: string; message: string }[] {
  const fields = Object.keys(kind.inputs.shape);
  return (["ignoreChanges", "replaceOnChanges"] as const).flatMap((option) =>
    (options[option] ?? []).flatMap((path, i) => {
      const field = path.split(/[.[]/)[0]!;
      if (fields.includes(field)) return [];
      return [{ path: `options.${option}[${i}]`, message: `${JSON.stringify(field)} is not an input of ${kind.name} (its inputs: ${fields.join(", ")})` }];
    }),
  );
}

/**
 * A name must be a string of the documented pattern. Names of members (`web/app[0]`) and
 * attachments (`data@web/app[0]`) are built from names given elsewhere; the first part, and an
 * instance group's own name, are checked here.
 */
function checkName(kind: Kind, name: unknown): string | undefined {
  if (typeof name !== "string") return `the name must be a string, got ${describeValue(name)}`;
  const parts = name.split(/[/@]/);
  const given = kind.name === "Instance" ? [parts[0]!, (parts[1] ?? "").replace(/\[\d+\]$/, "")] : [parts[0]!.replace(/\[\d+\]$/, "")];
  const bad = given.find((part) => !NAME.test(part));
  return bad === undefined ? undefined : `invalid name ${JSON.stringify(bad)}: ${NAME_RULE}`;
}

/** The problems of `stack(name, build)`; the name is also the state file's, so it is checked first. */
export function checkStack(name: unknown, build: unknown, source: SourceLocation | undefined): Diagnostic[] {
  const problems: string[] = [];
  const parsed = stackName.safeParse(name);
  if (!parsed.success) {
    const shown = typeof name === "string" ? ` ${JSON.stringify(name)}` : "";
    problems.push(`invalid stack name${shown}: ${parsed.error.issues[0]!.message}`);
  }
  if (typeof build !== "function") problems.push(`stack(name, build): build must be a function (s) => { ... }, got ${describeValue(build)}`);
  return problems.map((message) => ({ severity: "error", address: "stack", ...(source ? { source } : {}), message }));
}

/** The id of a handle the method accepts, or what to report in its place. */
export function handleId(value: unknown, accepts: (value: unknown) => boolean, expected: string): unknown {
  if (accepts(value)) return (value as { id: unknown }).id;
  return new InvalidArgument(`expected ${expected} of this program, got ${describeValue(value)}`);
}

/** The addresses `addDependency(...others)` adds; anything else is reported on the declaration. */
export function dependencyAddressesOf(others: readonly unknown[], declaration: Declaration): string[] {
  const addresses: string[] = [];
  for (const other of others) {
    if (isDependable(other)) addresses.push(...other.addresses);
    else {
      const source = callerLocation();
      declaration.problems.push({
        severity: "error",
        address: declaration.address,
        ...(source ? { source } : {}),
        message: `addDependency: expected a resource or instance group of this program, got ${describeValue(other)}`,
      });
    }
  }
  return addresses;
}
