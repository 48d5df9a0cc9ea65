// A resource kind, defined once: the zod schemas of its inputs and outputs, how each input changes,
// which fields are secret. Types, validation, the engine's diff, the emulator API and the Pulumi and
// Terraform schemas are all derived from this one definition.
import type { z } from "zod";
import type { Secret } from "../secret.ts";
import type { ChangeBehaviour, EphemeralStorage, KindInfo, ReplaceOrder } from "../../core/model.ts";

export type { ChangeBehaviour };

type AnyObject = z.ZodObject<z.ZodRawShape>;

/** Every top-level input must say how it changes; dotted paths may refine a nested field. */
export type ChangeMap<I extends AnyObject> = { [F in keyof z.input<I> & string]-?: ChangeBehaviour } & {
  [path: `${string}.${string}`]: ChangeBehaviour;
};

export interface KindSpec<N extends string, I extends AnyObject, O extends AnyObject> {
  name: N;
  /** First part of an address: "cluster" in "cluster.web". */
  addressPrefix: string;
  description: string;
  inputs: I;
  outputs: O;
  change: ChangeMap<I>;
  secrets?: readonly string[];
  /** Default order of a replacement; create-before-delete keeps the old object until the new one is up. */
  replaceOrder?: ReplaceOrder;
  /** Storage that loses its bytes when the object stops; its paths name inputs of this kind. */
  ephemeralStorage?: EphemeralStorage & { sizePath: keyof z.input<I> & string; powerPath: keyof z.input<I> & string };
}

export interface Kind<N extends string = string, I extends AnyObject = AnyObject, O extends AnyObject = AnyObject>
  extends KindInfo {
  readonly name: N;
  readonly addressPrefix: string;
  readonly description: string;
  readonly inputs: I;
  readonly outputs: O;
  readonly change: ChangeMap<I>;
}

export type InputsOf<K extends Kind> = z.output<K["inputs"]>;
/** What a program may pass: the schema's input type, where any plain value may be wrapped in secret(). */
export type InputArgs<K extends Kind> = AllowSecrets<z.input<K["inputs"]>>;

export type AllowSecrets<T> = T extends string | number | boolean
  ? T | Secret<T>
  : T extends readonly (infer E)[]
    ? AllowSecrets<E>[]
    : T extends object
      ? { [F in keyof T]: AllowSecrets<T[F]> }
      : T;
export type OutputsOf<K extends Kind> = z.output<K["outputs"]>;

export function defineKind<N extends string, I extends AnyObject, O extends AnyObject>(
  spec: KindSpec<N, I, O>,
): Kind<N, I, O> {
  const change = spec.change as Record<string, ChangeBehaviour>;
  return {
    name: spec.name,
    addressPrefix: spec.addressPrefix,
    description: spec.description,
    inputs: spec.inputs,
    outputs: spec.outputs,
    change: spec.change,
    secrets: spec.secrets ?? [],
    replaceOrder: spec.replaceOrder ?? "create-before-delete",
    ...(spec.ephemeralStorage ? { ephemeralStorage: spec.ephemeralStorage } : {}),
    changeBehaviour(path: string): ChangeBehaviour {
      // The most specific entry wins: "hosts.count" before "hosts".
      const parts = path.split(".");
      for (let i = parts.length; i > 0; i--) {
        const behaviour = change[parts.slice(0, i).join(".")];
        if (behaviour) return behaviour;
      }
      return "replace"; // a field nobody classified is safest replaced
    },
  };
}
