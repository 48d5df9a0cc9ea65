// Instances: placed on a host of their cluster, with a lifecycle
//   pending -> running <-> stopped -> terminated   (and reboot: running -> running)
// A resize, or new placement rules, is a stop, a change and a start (on another host when the
// current one lacks room or breaks a rule). Stop and terminate wipe the local disk; a reboot keeps
// it. A terminate detaches every volume, as clouds do, and leaves a tombstone in `terminated`.
import type { EmulatorContext } from "../context.ts";
import type { ClusterObject, EmulatorData, InstanceObject } from "../data.ts";
import { EmulatorError, conflict } from "../errors.ts";
import type { ObjectService } from "../service.ts";
import { own } from "../../core/own.ts";
import { builtImages } from "../image-registry.ts";
import { usableCapacity } from "./hypervisors.ts";
import { freeRoom, HostIndex, type Placed } from "./host-index.ts";
import { placeInstance, type HostRoom, type PlacementRules, type Resident } from "./placement.ts";

export type InstanceAction = "start" | "stop" | "reboot";
export const INSTANCE_ACTIONS: readonly InstanceAction[] = ["start", "stop", "reboot"];

/** How many terminated instances stay visible; the oldest go first. */
const KEEP_TERMINATED = 1000;

/** Fields only a replacement changes (the schema says "replace"); an update must not slip them in. */
const REPLACE_ONLY = ["cluster", "group", "index", "image", "localDiskGiB", "userData"] as const;
const RULES = ["affinityGroup", "antiAffinityGroup", "maxPerHost"] as const;

export const instanceService: ObjectService<"instances"> = {
  collection: "instances",
  idPrefix: "i",
  create(ctx, object) {
    const cluster = ctx.find("clusters", object.spec.cluster, "cluster");
    const image = ctx.find("images", object.spec.image.image, "image");
    const variant = own(image.variants, object.spec.image.variant);
    if (!variant) throw conflict(`image ${image.name} has no variant ${object.spec.image.variant}`);
    if (variant.digest !== object.spec.image.digest) {
      throw conflict(
        `image ${image.name} variant ${object.spec.image.variant} is ${variant.digest}, not the requested ${object.spec.image.digest}`,
      );
    }
    // The exact build it boots, when the variant is built: a later rebuild does not change it.
    const built = builtImages(image)[object.spec.image.variant];
    if (built?.built) object.imageDigest = built.digest;
    object.state = "pending";
    object.localDiskEpoch = 1;
    ctx.event("instance.pending", object.id, object.name);
    object.hostId = choose(ctx, cluster, object);
    ctx.event("instance.placed", object.id, `on ${object.hostId}`);
    if (object.spec.powerState === "running") powerOn(ctx, object);
    else {
      object.state = "stopped";
      ctx.event("instance.stopped", object.id);
    }
  },
  update(ctx, object, spec, { restart }) {
    const replaced = REPLACE_ONLY.filter((f) => JSON.stringify(spec[f]) !== JSON.stringify(object.spec[f]));
    if (replaced.length > 0) {
      throw new EmulatorError("invalid", `${replaced.join(", ")} of instance ${object.name} change only by replacing the instance`);
    }
    const needRestart = [
      ...(spec.vcpu !== object.spec.vcpu ? ["vcpu"] : []),
      ...(spec.memoryGiB !== object.spec.memoryGiB ? ["memoryGiB"] : []),
      ...RULES.filter((r) => spec.placement?.[r] !== object.spec.placement?.[r]).map((r) => `placement.${r}`),
    ];
    if (needRestart.length > 0 && !restart) {
      throw new EmulatorError("invalid", `changing ${needRestart.join(", ")} of instance ${object.name} needs a restart`);
    }
    if (needRestart.length > 0) {
      const why = `to change ${needRestart.join(", ")}`;
      if (object.state === "running") powerOff(ctx, object, why);
      const resized = spec.vcpu !== object.spec.vcpu || spec.memoryGiB !== object.spec.memoryGiB;
      object.spec = spec;
      // The whole change runs in the emulator's transaction: a throw here undoes the stop too.
      const cluster = ctx.find("clusters", object.spec.cluster, "cluster");
      const from = object.hostId;
      object.hostId = choose(ctx, cluster, object, from);
      if (object.hostId !== from) ctx.event("instance.migrated", object.id, `from ${from} to ${object.hostId}`);
      if (resized) ctx.event("instance.resized", object.id, `${spec.vcpu} vCPU, ${spec.memoryGiB} GiB`);
      if (spec.powerState === "running") powerOn(ctx, object);
      return;
    }
    object.spec = spec;
    touched(ctx, object.id);
    if (spec.powerState === "running" && object.state === "stopped") powerOn(ctx, object);
    if (spec.powerState === "stopped" && object.state === "running") powerOff(ctx, object);
  },
  delete(ctx, object) {
    touched(ctx, object.id);
    for (const attachment of Object.values(ctx.data.attachments)) {
      if (attachment.spec.instance !== object.id) continue;
      delete ctx.data.attachments[attachment.id];
      ctx.event("attachment.detached", attachment.id, `instance ${object.name} terminated`);
    }
    if (object.state === "running") ctx.event("instance.stopped", object.id, "for terminate");
    wipeLocalDisk(ctx, object);
    object.state = "terminated";
    object.terminatedAt = ctx.now();
    ctx.event("instance.terminated", object.id);
    // The caller removes it from the live collection; the tombstone answers later requests with 409.
    ctx.data.terminated[object.id] = object;
    const ids = Object.keys(ctx.data.terminated);
    for (const id of ids.slice(0, Math.max(0, ids.length - KEEP_TERMINATED))) delete ctx.data.terminated[id];
  },
  outputs(_ctx, object) {
    return { host: object.hostId, state: object.state, ...(object.imageDigest ? { imageDigest: object.imageDigest } : {}) };
  },
};

/**
 * start, stop and reboot. Start of a running and stop of a stopped instance change nothing (as EC2
 * does: a retried request is harmless); a reboot needs a running instance. Start and stop also set
 * the declared power state, so the engine's refresh sees the difference from the program.
 */
export function instanceAction(ctx: EmulatorContext, object: InstanceObject, action: InstanceAction): void {
  if (object.state === "terminated") throw conflict(`instance ${object.name} (${object.id}) is terminated and cannot ${action}`);
  if (object.state === "pending") throw conflict(`instance ${object.name} (${object.id}) is still pending; ${action} it once it is placed`);
  touched(ctx, object.id);
  switch (action) {
    case "start":
      object.spec = { ...object.spec, powerState: "running" };
      if (object.state === "stopped") powerOn(ctx, object);
      return;
    case "stop":
      object.spec = { ...object.spec, powerState: "stopped" };
      if (object.state === "running") powerOff(ctx, object);
      return;
    case "reboot":
      if (object.state !== "running") {
        throw conflict(`instance ${object.name} (${object.id}) is ${object.state}: only a running instance can reboot; start it instead`);
      }
      // The guest restarts, the VM does not: the local disk keeps its bytes.
      ctx.event("instance.rebooted", object.id);
      return;
  }
}

function powerOn(ctx: EmulatorContext, object: InstanceObject): void {
  object.state = "running";
  ctx.event("instance.started", object.id, `on ${object.hostId}`);
}

function powerOff(ctx: EmulatorContext, object: InstanceObject, why?: string): void {
  object.state = "stopped";
  ctx.event("instance.stopped", object.id, why);
  wipeLocalDisk(ctx, object);
}

/** The local disk's bytes live only while the instance runs; the data path drops the old epoch's. */
function wipeLocalDisk(ctx: EmulatorContext, object: InstanceObject): void {
  if (object.spec.localDiskGiB === 0) return;
  const epoch = object.localDiskEpoch ?? 1;
  object.localDiskEpoch = epoch + 1;
  ctx.event("instance.local-disk-wiped", object.id, `epoch ${epoch}`);
}

/**
 * Every host's free room and residents, in one pass over the instances: the plain scan, which the
 * index must agree with (the failure path uses it for the explanation; tests compare the two).
 */
export function hostRooms(ctx: EmulatorContext, cluster: ClusterObject, except?: string): HostRoom[] {
  const rooms = new Map<string, HostRoom & { residents: Resident[]; placed: Placed[] }>();
  for (const host of cluster.hosts) {
    rooms.set(host.id, { id: host.id, index: host.index, free: { ...usableCapacity(cluster, host) }, residents: [], placed: [] });
  }
  for (const i of Object.values(ctx.data.instances)) {
    const room = rooms.get(i.hostId);
    if (!room || i.id === except) continue;
    room.placed.push(placedOf(i));
    room.residents.push({ group: i.spec.group, affinityGroup: i.spec.placement?.affinityGroup, antiAffinityGroup: i.spec.placement?.antiAffinityGroup });
  }
  return [...rooms.values()].map(({ placed, ...room }) => ({ ...room, free: freeRoom(room.free, placed) }));
}

/** What placement needs of an instance: its host, its size and its placement groups. */
export function placedOf(i: InstanceObject): Placed {
  const p = i.spec.placement;
  return {
    id: i.id,
    hostId: i.hostId,
    vcpu: i.spec.vcpu,
    memoryGiB: i.spec.memoryGiB,
    localDiskGiB: i.spec.localDiskGiB,
    group: i.spec.group,
    affinityGroup: p?.affinityGroup,
    antiAffinityGroup: p?.antiAffinityGroup,
  };
}

/**
 * The placement indexes of one emulator's data document, one HostIndex per cluster, derived from
 * the data and never trusted beyond it:
 * - instances a service touches (create, update, delete, action) are marked dirty, and before each
 *   use every dirty instance is re-read from the data and re-accounted. Whatever happened to the
 *   transaction that touched it (committed, or undone by the Emulator after a throw), the index
 *   follows what the data holds now;
 * - a cluster's index is rebuilt from the data when the cluster object, its hosts or its spec are
 *   not the ones it was built from (a cluster update makes new ones; an undone update restores a
 *   copy);
 * - the indexes hang off the data document itself (a WeakMap), so a rehearsal's copy and a
 *   restarted emulator's document start without one and build theirs on first use.
 */
interface ClusterEntry {
  cluster: ClusterObject;
  hosts: ClusterObject["hosts"];
  spec: ClusterObject["spec"];
  index: HostIndex;
}
interface ComputeIndex {
  clusters: Map<string, ClusterEntry>;
  /** Instance id -> the cluster whose index accounts it. */
  accounted: Map<string, string>;
  dirty: Set<string>;
}
const indexes = new WeakMap<EmulatorData, ComputeIndex>();

function computeIndex(ctx: EmulatorContext): ComputeIndex {
  let index = indexes.get(ctx.data);
  if (!index) indexes.set(ctx.data, (index = { clusters: new Map(), accounted: new Map(), dirty: new Set() }));
  return index;
}

/** The instance's placement-relevant fields may have changed: re-read it before the next placement. */
export function touched(ctx: EmulatorContext, instanceId: string): void {
  computeIndex(ctx).dirty.add(instanceId);
}

/** The cluster's host index, up to date with the data. */
export function clusterIndex(ctx: EmulatorContext, cluster: ClusterObject): HostIndex {
  const all = computeIndex(ctx);
  for (const id of all.dirty) {
    const was = all.accounted.get(id);
    if (was !== undefined) all.clusters.get(was)?.index.remove(id);
    all.accounted.delete(id);
    const now = ctx.data.instances[id];
    const entry = now && all.clusters.get(now.spec.cluster);
    if (now && entry) {
      entry.index.add(placedOf(now));
      all.accounted.set(id, now.spec.cluster);
    }
  }
  all.dirty.clear();
  const entry = all.clusters.get(cluster.id);
  if (entry && entry.cluster === cluster && entry.hosts === cluster.hosts && entry.spec === cluster.spec) return entry.index;
  const index = new HostIndex(cluster.hosts.map((h) => ({ id: h.id, index: h.index, usable: usableCapacity(cluster, h) })));
  for (const i of Object.values(ctx.data.instances)) {
    if (i.spec.cluster !== cluster.id) continue;
    index.add(placedOf(i));
    all.accounted.set(i.id, cluster.id);
  }
  all.clusters.set(cluster.id, { cluster, hosts: cluster.hosts, spec: cluster.spec, index });
  return index;
}

function needOf(instance: InstanceObject) {
  const { vcpu, memoryGiB, localDiskGiB } = instance.spec;
  return { vcpu, memoryGiB, localDiskGiB };
}

function rulesOf(cluster: ClusterObject, instance: InstanceObject, prefer?: string): PlacementRules {
  const p = instance.spec.placement ?? {};
  return {
    policy: p.policy ?? cluster.spec.placement,
    group: instance.spec.group,
    affinityGroup: p.affinityGroup,
    antiAffinityGroup: p.antiAffinityGroup,
    maxPerHost: p.maxPerHost,
    prefer,
  };
}

function choose(ctx: EmulatorContext, cluster: ClusterObject, instance: InstanceObject, prefer?: string): string {
  const { vcpu, memoryGiB, localDiskGiB } = instance.spec;
  const index = clusterIndex(ctx, cluster);
  // The instance is placed anew: it does not count against itself (re-read from the data next time).
  index.remove(instance.id);
  touched(ctx, instance.id);
  const rules = rulesOf(cluster, instance, prefer);
  const hostId = index.place(needOf(instance), rules);
  if (hostId !== undefined) return hostId;
  // No host qualifies: the plain scan says which constraint ruled out how many hosts.
  const placement = placeInstance(hostRooms(ctx, cluster, instance.id), needOf(instance), rules);
  if (!placement.ok) {
    throw new EmulatorError(
      "capacity",
      `no host of cluster ${cluster.name} can take ${instance.name} (${vcpu} vCPU, ${memoryGiB} GiB memory, ${localDiskGiB} GiB local disk): ${placement.reason}`,
    );
  }
  return placement.hostId;
}
