// Variants as a matrix: every combination of the values of each dimension (profile x JDK line),
// named "<a>-<b>[-<c>]", each the overlays of its values merged in order — packages appended (a
// later constraint on the same package wins), config merged (later keys win). No copy and paste.
import { describeValue } from "./names.ts";
import type { VariantArgs } from "./stack.ts";
import { InvalidArgument, isPlainObject } from "./validate-args.ts";

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
  const bad = dimensions.findIndex((d) => !isPlainObject(d));
  if (bad >= 0) return invalid(`variantMatrix: dimension ${bad + 1} must be an object of named variants, got ${describeValue(dimensions[bad])}`);
  let combos: [string, VariantArgs][] = [["", {}]];
  for (const dimension of dimensions) {
    combos = combos.flatMap(([name, merged]) =>
      Object.entries(dimension).map(([value, overlay]): [string, VariantArgs] => [name ? `${name}-${value}` : value, merge(merged, overlay)]),
    );
  }
  return Object.fromEntries(combos);
}

/** Packages appended, config merged; a part that is not a list or an object is kept as it is, for the schema to report. */
function merge(a: VariantArgs, b: unknown): VariantArgs {
  if (a instanceof InvalidArgument) return a;
  if (!isPlainObject(b)) return invalid(`variantMatrix: a variant must be an object like { packages, config }, got ${describeValue(b)}`);
  const packages = [a.packages, b.packages].find((p) => p !== undefined && !Array.isArray(p));
  const config = [a.config, b.config].find((c) => c !== undefined && !isPlainObject(c));
  return {
    packages: packages ?? [...(a.packages ?? []), ...((b.packages as unknown[] | undefined) ?? [])],
    config: config ?? { ...(a.config ?? {}), ...(b.config as object | undefined) },
  } as VariantArgs;
}

/** The matrix's own mistakes are reported where its result is used: the image's variants. */
function invalid(message: string): never {
  return new InvalidArgument(message) as never;
}
