// The resource handles a program works with. Each DSL method records a Declaration; handles expose
// Outputs (known after apply) and the methods that declare what belongs to them.
import { z } from "zod";
import type { Declaration, Dependable, ResourceOptions } from "./declaration.ts";
import { attachment, instance, snapshot, volume } from "./kinds/index.ts";
import type { InputArgs, Kind } from "./kinds/kind.ts";
import { Output } from "./output.ts";
import { callerLocation } from "./source-location.ts";
import { foreignUseProblem, type StackOwner } from "./stack-owner.ts";
import { describeValue, nameText } from "./names.ts";
import { dependencyAddressesOf, handleId, isPlainObject } from "./validate-args.ts";
import { isDependable } from "./resource-options.ts";

/** Declares resources on behalf of handles; implemented by the stack builder. */
export interface Declarer extends StackOwner {
  declare(kind: Kind, name: string, args: Record<string, unknown>, options?: ResourceOptions): Declaration;
}

export class Resource implements Dependable {
  protected readonly declaration: Declaration;
  protected readonly declarer: Declarer;
  /** The backend's id of the resource, known after apply. */
  readonly id: Output<string>;

  constructor(declaration: Declaration, declarer: Declarer) {
    this.declaration = declaration;
    this.declarer = declarer;
    this.id = new Output<string>(declaration.address, "id", declarer);
  }

  get address(): string {
    return this.declaration.address;
  }

  get addresses(): readonly string[] {
    return [this.declaration.address];
  }

  get owner(): StackOwner {
    return this.declarer;
  }

  /** Makes this resource wait for others it does not reference (Pulumi's dependsOn, CDK's addDependency). */
  addDependency(...others: Dependable[]): this {
    // A handle of another stack is reported at this line for both stacks; anything else not a handle, by dependencyAddressesOf.
    const local: unknown[] = [];
    for (const other of others as unknown[]) {
      if (isDependable(other) && other.owner !== this.declarer) {
        const user = { address: this.address, owner: this.declarer, source: callerLocation() };
        const problem = foreignUseProblem(user, { address: other.address, owner: other.owner, path: "dependsOn" });
        this.declaration.problems.push(problem);
        other.owner.problems.push(problem);
        continue;
      }
      local.push(other);
    }
    for (const address of dependencyAddressesOf(local, this.declaration)) this.declaration.dependsOn.add(address);
    return this;
  }
}

export class StoragePool extends Resource {
  readonly capacityGiB = new Output<number>(this.declaration.address, "capacityGiB", this.declarer);

  /**
   * Asks the pool for an amount of persistent storage; with `source`, a copy-on-write clone of a
   * snapshot or volume of this pool (at least as large as the source).
   */
  volume(name: string, args: VolumeArgs, options?: ResourceOptions): Volume {
    if (!isPlainObject(args)) return new Volume(this.declarer.declare(volume, name, args, options), this.declarer);
    const { source, ...rest } = args;
    const declaration = this.declarer.declare(
      volume,
      name,
      { ...rest, pool: this.id, ...(source !== undefined && { source: handleId(source, isSnapshotOrVolume, "a snapshot or volume") }) },
      options,
    );
    return new Volume(declaration, this.declarer);
  }
}

export type VolumeArgs = Omit<InputArgs<typeof volume>, "pool" | "source"> & {
  /** Clone this snapshot or volume (copy-on-write: instant, blocks shared until written). */
  source?: Snapshot | Volume;
};

export class Volume extends Resource {
  /** A read-only point-in-time copy of this volume, taken when it is created. */
  snapshot(name: string, args: Omit<InputArgs<typeof snapshot>, "volume"> = {}, options?: ResourceOptions): Snapshot {
    const declaration = this.declarer.declare(snapshot, name, isPlainObject(args) ? { ...args, volume: this.id } : args, options);
    return new Snapshot(declaration, this.declarer);
  }

  /** Attaches the volume to an instance or to every member of an instance group. */
  attachTo(
    target: Instance | InstanceGroup,
    args: Omit<InputArgs<typeof attachment>, "volume" | "instance"> = {},
    options?: ResourceOptions,
  ): Attachment[] {
    const volumeName = this.address.slice(this.address.indexOf(".") + 1);
    return (target instanceof InstanceGroup ? target.members : [target]).map((member: unknown) => {
      const memberName = member instanceof Instance ? member.address.slice(member.address.indexOf(".") + 1) : "invalid-target";
      const declaration = this.declarer.declare(
        attachment,
        `${volumeName}@${memberName}`,
        isPlainObject(args) ? { ...args, volume: this.id, instance: handleId(member, isInstance, "an instance or instance group") } : args,
        options,
      );
      return new Attachment(declaration, this.declarer);
    });
  }
}

export class Snapshot extends Resource {
  readonly sizeGiB = new Output<number>(this.declaration.address, "sizeGiB", this.declarer);
}

export class Attachment extends Resource {
  readonly device = new Output<string>(this.declaration.address, "device", this.declarer);
}

/** A reference to one variant of an image; only names the image declares type-check. */
export class ImageVariant {
  readonly image: Image<string>;
  readonly variant: string;

  constructor(image: Image<string>, variant: string) {
    this.image = image;
    this.variant = variant;
  }
}

export class Image<V extends string> extends Resource {
  private readonly variantNames: readonly string[];

  constructor(declaration: Declaration, declarer: Declarer, variantNames: readonly string[]) {
    super(declaration, declarer);
    this.variantNames = variantNames;
  }

  variant(name: V): ImageVariant {
    return new ImageVariant(this as Image<string>, name);
  }

  get variants(): readonly string[] {
    return this.variantNames;
  }
}

export type InstanceGroupArgs = Omit<InputArgs<typeof instance>, "cluster" | "group" | "index" | "image"> & {
  /** How many instances; a meta-argument expanded into members [0]..[count-1]. */
  count: number;
  image: ImageVariant;
};

const countSchema = z.int().min(0).max(10_000);

export class Cluster extends Resource {
  /** Declares an instance group on this cluster. */
  instances(name: string, args: InstanceGroupArgs, options?: ResourceOptions): InstanceGroup {
    const { count, ...member } = isPlainObject(args) ? args : { count: 0 };
    const clusterName = this.address.slice(this.address.indexOf(".") + 1);
    const groupName = nameText(name);
    if (!isPlainObject(args)) this.declarer.declare(instance, `${clusterName}/${groupName}[0]`, args, options);
    const checked = countSchema.safeParse(count);
    const members: Instance[] = [];
    for (let index = 0; index < (checked.success ? checked.data : 0); index++) {
      const declaration = this.declarer.declare(
        instance,
        `${clusterName}/${groupName}[${index}]`,
        { ...member, cluster: this.id, group: name, index },
        options,
      );
      members.push(new Instance(declaration, this.declarer));
    }
    if (!checked.success) {
      // Report through a placeholder member so the error carries the group's address and line.
      const declaration = this.declarer.declare(instance, `${clusterName}/${groupName}[0]`, {}, options);
      declaration.problems.push({
        severity: "error",
        address: `instances.${clusterName}/${groupName}`,
        path: "count",
        source: declaration.source,
        message: `${checked.error.issues[0]?.message ?? "invalid"} (got ${describeValue(count)})`,
      });
    }
    return new InstanceGroup(`instances.${clusterName}/${groupName}`, members, this.declarer);
  }
}

export class Instance extends Resource {
  readonly host = new Output<string>(this.declaration.address, "host", this.declarer);
}

export class InstanceGroup implements Dependable {
  readonly address: string;
  readonly members: readonly Instance[];
  readonly owner: StackOwner;

  constructor(address: string, members: readonly Instance[], owner: StackOwner) {
    this.address = address;
    this.members = members;
    this.owner = owner;
  }

  get addresses(): readonly string[] {
    return this.members.map((m) => m.address);
  }
}

const isSnapshotOrVolume = (value: unknown) => value instanceof Snapshot || value instanceof Volume;
const isInstance = (value: unknown) => value instanceof Instance;
