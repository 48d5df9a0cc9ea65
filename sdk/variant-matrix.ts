// Variants as a matrix: every combination of the values of each dimension (profile x JDK line),
// named "<a>-<b>[-<c>]", each the overlays of its values merged in order — packages appended (a
// later constraint on the same package wins), config merged (later keys win). No copy and paste.
import type { VariantArgs } from "./stack.ts";

type Dimension = Record<string, VariantArgs>;
type Key<D> = keyof D & string;

export function variantMatrix<const A extends Dimension, const B extends Dimension>(
  a: A,
  b: B,
): { [K in `${Key<A>}-${Key<B>}`]: VariantArgs };
export function variantMatrix<const A extends Dimension, const B extends Dimension, const C extends Dimension>(
  a: A,
  b: B,
  c: C,
): { [K in `${Key<A>}-${Key<B>}-${Key<C>}`]: VariantArgs };
export function variantMatrix(...dimensions: Dimension[]): Record<string, VariantArgs> {
  let combos: [string, VariantArgs][] = [["", {}]];
  for (const dimension of dimensions) {
    combos = combos.flatMap(([name, merged]) =>
      Object.entries(dimension).map(([value, overlay]): [string, VariantArgs] => [name ? `${name}-${value}` : value, merge(merged, overlay)]),
    );
  }
  return Object.fromEntries(combos);
}

function merge(a: VariantArgs, b: VariantArgs): VariantArgs {
  return {
    packages: [...(a.packages ?? []), ...(b.packages ?? [])],
    config: { ...(a.config ?? {}), ...(b.config ?? {}) },
  };
}
