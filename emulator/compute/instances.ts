// Instances: placed on a host of their cluster, running or stopped as declared. A resize is a stop,
// a change and a start (on another host when the current one lacks room); a terminate detaches
// every volume, as clouds do.
import type { EmulatorContext } from "../context.ts";
import type { ClusterObject, InstanceObject } from "../data.ts";
import { EmulatorError, conflict } from "../errors.ts";
import type { ObjectService } from "../service.ts";
import { usedOnHost } from "./clusters.ts";
import { usableCapacity } from "./hypervisors.ts";
import { placeInstance, type HostRoom } from "./placement.ts";

export const instanceService: ObjectService<"instances"> = {
  collection: "instances",
  idPrefix: "i",
  create(ctx, object) {
    const cluster = ctx.find("clusters", object.spec.cluster, "cluster");
    const image = ctx.find("images", object.spec.image.image, "image");
    const variant = image.variants[object.spec.image.variant];
    if (!variant) throw conflict(`image ${image.name} has no variant ${object.spec.image.variant}`);
    if (variant.digest !== object.spec.image.digest) {
      throw conflict(
        `image ${image.name} variant ${object.spec.image.variant} is ${variant.digest}, not the requested ${object.spec.image.digest}`,
      );
    }
    object.hostId = choose(ctx, cluster, object);
    object.state = object.spec.powerState;
    ctx.event("instance.placed", object.id, `on ${object.hostId}`);
    ctx.event(object.state === "running" ? "instance.started" : "instance.stopped", object.id);
  },
  update(ctx, object, spec, { restart }) {
    const cluster = ctx.find("clusters", object.spec.cluster, "cluster");
    const resized = spec.vcpu !== object.spec.vcpu || spec.memoryGiB !== object.spec.memoryGiB;
    if (resized && !restart) {
      throw new EmulatorError("invalid", `changing vcpu or memory of instance ${object.name} needs a restart`);
    }
    const previous = object.spec;
    if (resized) {
      if (object.state === "running") ctx.event("instance.stopped", object.id, "for resize");
      object.spec = spec;
      const room = roomOn(ctx, cluster, object.hostId, object.id);
      if (!fits(room, object)) {
        try {
          object.hostId = choose(ctx, cluster, object);
          ctx.event("instance.migrated", object.id, `to ${object.hostId}`);
        } catch (err) {
          object.spec = previous;
          throw err;
        }
      }
      ctx.event("instance.resized", object.id, `${spec.vcpu} vCPU, ${spec.memoryGiB} GiB`);
      if (spec.powerState === "running") ctx.event("instance.started", object.id);
    }
    object.spec = spec;
    if (object.state !== spec.powerState) {
      object.state = spec.powerState;
      ctx.event(spec.powerState === "running" ? "instance.started" : "instance.stopped", object.id);
    }
  },
  delete(ctx, object) {
    for (const attachment of Object.values(ctx.data.attachments)) {
      if (attachment.spec.instance !== object.id) continue;
      delete ctx.data.attachments[attachment.id];
      ctx.event("attachment.detached", attachment.id, `instance ${object.name} terminated`);
    }
    object.state = "terminated";
    ctx.event("instance.terminated", object.id);
  },
  outputs(_ctx, object) {
    return { host: object.hostId, state: object.state };
  },
};

function roomOn(ctx: EmulatorContext, cluster: ClusterObject, hostId: string, except?: string): HostRoom {
  const host = cluster.hosts.find((h) => h.id === hostId);
  if (!host) throw new EmulatorError("not-found", `host ${hostId} is not in cluster ${cluster.name}`);
  const usable = usableCapacity(cluster, host);
  const used = usedOnHost(ctx, host.id, except);
  return {
    id: host.id,
    index: host.index,
    free: {
      vcpu: usable.vcpu - used.vcpu,
      memoryGiB: usable.memoryGiB - used.memoryGiB,
      localDiskGiB: usable.localDiskGiB - used.localDiskGiB,
    },
  };
}

function fits(room: HostRoom, instance: InstanceObject): boolean {
  const { vcpu, memoryGiB, localDiskGiB } = instance.spec;
  return room.free.vcpu >= vcpu && room.free.memoryGiB >= memoryGiB && room.free.localDiskGiB >= localDiskGiB;
}

function choose(ctx: EmulatorContext, cluster: ClusterObject, instance: InstanceObject): string {
  const rooms = cluster.hosts.map((h) => roomOn(ctx, cluster, h.id, instance.id));
  const { vcpu, memoryGiB, localDiskGiB } = instance.spec;
  const placement = placeInstance(rooms, { vcpu, memoryGiB, localDiskGiB }, instance.spec.placement ?? cluster.spec.placement);
  if (!placement.ok) {
    throw new EmulatorError(
      "capacity",
      `no host of cluster ${cluster.name} can take ${instance.name} (${vcpu} vCPU, ${memoryGiB} GiB memory, ${localDiskGiB} GiB local disk): ${placement.reason}`,
    );
  }
  return placement.hostId;
}
