// The "hello" image the layer-cache suites declare and lock by hand (no catalog, no build): two
// variants differing only in config, each locked to libc6 (base) and hello; its layers' digests as
// the builder computes them, so a suite can fill a layer cache as `images build` would leave it.
import { join } from "node:path";
import { DEFAULT_SOURCE_DATE_EPOCH, variantStacks } from "../../images/build/variant-images.ts";
import { lockedInputs, makeLockedVariant, writeLockfile } from "../../images/lockfile.ts";
import { resolveVariant } from "../../images/variant.ts";
import { image, type ImageInputs } from "../../sdk/kinds/image.ts";
import { lockedPackage } from "./locked-package.ts";

export const HELLO_IMAGE = {
  base: "debian-12",
  packages: ["hello"],
  config: { greeting: "hi" },
  files: { "/etc/hello.conf": { template: "greeting={{greeting}}\n" } },
  variants: { a: {}, b: { config: { greeting: "hey" } } },
};

const inputs = image.inputs.parse(HELLO_IMAGE) as ImageInputs;
const entries = Object.fromEntries(
  ["a", "b"].map((v) => [v, makeLockedVariant(resolveVariant(inputs, v), [lockedPackage("libc6", "2.36", true), lockedPackage("hello", "2.10")])]),
);
const stacks = variantStacks("hello", { ...inputs, locked: Object.fromEntries(Object.entries(entries).map(([v, e]) => [v, lockedInputs(e)])) }, DEFAULT_SOURCE_DATE_EPOCH);
if (!stacks?.ok) throw new Error("the hello image's variants must render");

/** Each variant's layers, base first, as the builder plans them. */
export const helloLayers = stacks.stacks;

/** Writes the lock of `image.hello` into `dir` (as `images lock` would on the system's apt lists). */
export function writeHelloLock(dir: string): void {
  writeLockfile(join(dir, "virtform.lock"), { lockfileVersion: 3, catalog: "apt-lists", images: { "image.hello": entries } });
}
