// The DSL users import: `import { stack } from "virtform"`.
export { stack, StackBuilder, type StackDefinition, type VariantArgs } from "./stack.ts";
export { Output } from "./output.ts";
export { secret, Secret, type MaybeSecret } from "./secret.ts";
export { variantMatrix } from "./variant-matrix.ts";
export {
  Attachment,
  Cluster,
  Image,
  ImageVariant,
  Instance,
  InstanceGroup,
  Resource,
  Snapshot,
  StoragePool,
  Volume,
  type InstanceGroupArgs,
  type VolumeArgs,
} from "./resources.ts";
export type { ResourceOptions } from "./declaration.ts";
export { kinds, type KindName } from "./kinds/index.ts";
export type { InputsOf, OutputsOf, Kind } from "./kinds/kind.ts";
