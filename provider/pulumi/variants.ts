// Image variants stay typed in the Pulumi SDK: an Image is generic over the keys of its `variants`,
// and `image.variant("heavy")` gives the reference an Instance's `image` takes. The schema carries
// this as a nodejs language extension on the Image resource; the SDK generator reads it from there.
import { tokenOf } from "./tokens.ts";

export interface VariantsExtension {
  /** The input property whose keys are the variant names. */
  keyedBy: string;
  /** The output property holding each variant's content digest under the same key. */
  outputs: string;
  /** The type of the reference (image id, variant name, digest) an Instance takes. */
  reference: string;
}

export const imageVariants: VariantsExtension = {
  keyedBy: "variants",
  outputs: "variants",
  reference: `#/types/${tokenOf("Instance")}Image`,
};
