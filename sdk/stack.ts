// `stack(name, build)`: a program's default export. The builder `s` passed to build declares the
// top-level resources; handles declare what belongs to them.
import type { LifecycleOptions } from "../core/lifecycle-options.ts";
import type { Diagnostic, SourceLocation } from "../core/model.ts";
import { dependencyAddresses, type Declaration, type ResourceOptions } from "./declaration.ts";
import { cluster, image, storagePool } from "./kinds/index.ts";
import type { AllowSecrets, InputArgs, Kind } from "./kinds/kind.ts";
import { Cluster, Image, StoragePool, type Declarer } from "./resources.ts";
import { callerLocation } from "./source-location.ts";
import { foreignDependencies, foreignHandles } from "./foreign-handles.ts";
import { foreignUseProblem } from "./stack-owner.ts";
import { checkDeclaration, checkStack, isPlainObject } from "./validate-args.ts";
import type { imageVariant } from "./kinds/image.ts";
import type { z } from "zod";

export type VariantArgs = AllowSecrets<z.input<typeof imageVariant>>;

export class StackBuilder implements Declarer {
  readonly stackName: string;
  readonly declarations: Declaration[] = [];
  readonly problems: Diagnostic[] = [];
  private readonly byAddress = new Map<string, Declaration>();

  constructor(stackName: string) {
    this.stackName = stackName;
  }

  storagePool(name: string, args: InputArgs<typeof storagePool>, options?: ResourceOptions): StoragePool {
    return new StoragePool(this.declare(storagePool, name, args, options), this);
  }

  image<const V extends Record<string, VariantArgs>>(
    name: string,
    args: Omit<InputArgs<typeof image>, "variants"> & { variants: V },
    options?: ResourceOptions,
  ): Image<keyof V & string> {
    const variants = isPlainObject(args) && isPlainObject(args.variants) ? Object.keys(args.variants) : [];
    return new Image<keyof V & string>(this.declare(image, name, args, options), this, variants);
  }

  cluster(name: string, args: InputArgs<typeof cluster>, options?: ResourceOptions): Cluster {
    return new Cluster(this.declare(cluster, name, args, options), this);
  }

  declare(kind: Kind, name: string, args: Record<string, unknown>, options?: ResourceOptions): Declaration {
    const source = callerLocation();
    const checked = checkDeclaration(kind, name, args, options, source);
    const { address } = checked;
    const declaration: Declaration = {
      address,
      kind,
      args: isPlainObject(args) ? args : {},
      dependsOn: new Set(dependencyAddresses(checked.options.dependsOn)),
      options: lifecycleOf(checked.options),
      source,
      problems: checked.problems,
    };
    // Handles of another stack: an error here and in that stack. Only for arguments that passed the
    // checks (a cyclic or hostile value is reported by them and not walked).
    const uses = checked.problems.length > 0 ? [] : [...foreignHandles(args, this), ...foreignDependencies(checked.options.dependsOn, this)];
    for (const use of uses) {
      const problem = foreignUseProblem({ address, owner: this, source }, use);
      declaration.problems.push(problem);
      use.owner.problems.push(problem);
    }
    const first = checked.named ? this.byAddress.get(address) : undefined;
    if (first) {
      this.problems.push({
        severity: "error",
        address,
        source,
        message: `${address} is declared twice${first.source ? ` (first at ${first.source.file}:${first.source.line})` : ""}; names must be unique per kind`,
      });
      return declaration; // kept out of the program so the first declaration stands
    }
    if (checked.named) this.byAddress.set(address, declaration);
    this.declarations.push(declaration);
    return declaration;
  }
}

function lifecycleOf(options: ResourceOptions): LifecycleOptions {
  const lifecycle: Record<string, unknown> = {};
  // Per declaration, and most have no options: a loop, not a rest copy and entries().filter().
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key];
    if (key !== "dependsOn" && value !== undefined) lifecycle[key] = value;
  }
  return lifecycle as LifecycleOptions;
}

export type StackOutputs = Record<string, unknown> | void;

export interface StackDefinition<O extends StackOutputs = StackOutputs> {
  readonly $virtformStack: 1;
  readonly name: string;
  readonly build: (s: StackBuilder) => O;
  /** What was wrong with stack()'s own arguments; evaluation reports it before running anything. */
  readonly problems?: readonly Diagnostic[];
  /** The line of the stack() call: where problems of the program as a whole are reported. */
  readonly source?: SourceLocation;
}

/** Declares a stack: `export default stack("shop", (s) => { ... })`. */
export function stack<O extends StackOutputs>(name: string, build: (s: StackBuilder) => O): StackDefinition<O> {
  const source = callerLocation();
  const problems = checkStack(name, build, source);
  return { $virtformStack: 1, name: problems.length > 0 ? "" : name, build, problems, ...(source ? { source } : {}) };
}

export function isStackDefinition(value: unknown): value is StackDefinition {
  return typeof value === "object" && value !== null && (value as { $virtformStack?: unknown }).$virtformStack === 1;
}
