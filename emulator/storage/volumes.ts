// Volumes: persistent storage asked of a pool by size. They grow in place, never shrink, and cannot
// be deleted while attached or protected.
import type { EmulatorContext } from "../context.ts";
import type { VolumeObject } from "../data.ts";
import { EmulatorError, conflict } from "../errors.ts";
import type { ObjectService, SpecOf } from "../service.ts";
import { allocatedGiB, allocationOf, capacityGiB, poolAllocation } from "./pools.ts";

function recordAllocation(ctx: EmulatorContext, poolId: string, volumeId: string, sizeGiB: number | undefined): void {
  const sizes = allocationOf(poolAllocation(ctx), poolId);
  if (sizeGiB === undefined) sizes.delete(volumeId);
  else sizes.set(volumeId, sizeGiB);
}

export const volumeService: ObjectService<"volumes"> = {
  collection: "volumes",
  idPrefix: "vol",
  create(ctx, object) {
    checkRoom(ctx, object, object.spec);
    recordAllocation(ctx, object.spec.pool, object.id, object.spec.sizeGiB);
    if (object.spec.source !== undefined) checkSource(ctx, object);
  },
  update(ctx, object, spec) {
    if (spec.pool !== object.spec.pool) throw new EmulatorError("invalid", `volume ${object.name} cannot move to another pool`);
    if (spec.source !== object.spec.source) {
      throw new EmulatorError("invalid", `volume ${object.name} was cloned at creation; its source cannot change (create another volume)`);
    }
    if (spec.sizeGiB < object.spec.sizeGiB) {
      throw new EmulatorError(
        "invalid",
        `volume ${object.name} cannot shrink from ${object.spec.sizeGiB} GiB to ${spec.sizeGiB} GiB: volumes only grow (shrinking would lose data)`,
      );
    }
    const attached = attachmentsOf(ctx, object.id);
    if (!spec.multiAttach && attached.length > 1) {
      throw conflict(`volume ${object.name} is attached ${attached.length} times and must stay multi-attach until detached`);
    }
    checkRoom(ctx, object, spec);
    if (spec.sizeGiB > object.spec.sizeGiB) ctx.event("volume.grown", object.id, `${object.spec.sizeGiB} -> ${spec.sizeGiB} GiB`);
    recordAllocation(ctx, spec.pool, object.id, spec.sizeGiB);
    object.spec = spec;
  },
  delete(ctx, object) {
    if (object.spec.deleteProtection) {
      throw conflict(`volume ${object.name} has delete protection; set deleteProtection: false first`);
    }
    const attached = attachmentsOf(ctx, object.id);
    if (attached.length > 0) {
      throw conflict(
        `volume ${object.name} is attached (${attached.map((a) => `${a.device} of ${ctx.data.instances[a.spec.instance]?.name ?? a.spec.instance}`).join(", ")}); detach it first`,
      );
    }
    recordAllocation(ctx, object.spec.pool, object.id, undefined);
  },
  outputs() {
    return {};
  },
};

/** A clone comes from a snapshot or volume of the same pool (blocks are shared within a pool) and is at least as large. */
function checkSource(ctx: EmulatorContext, object: VolumeObject): void {
  const id = object.spec.source!;
  const snapshot = ctx.data.snapshots[id];
  const volume = ctx.data.volumes[id];
  if (!snapshot && !volume) throw new EmulatorError("not-found", `source ${id} of volume ${object.name} is neither a snapshot nor a volume`);
  const pool = snapshot?.pool ?? volume!.spec.pool;
  const sizeGiB = snapshot?.sizeGiB ?? volume!.spec.sizeGiB;
  const name = snapshot?.name ?? volume!.name;
  if (pool !== object.spec.pool) {
    throw new EmulatorError("invalid", `volume ${object.name} cannot be cloned from ${name}: it lives in another pool (${pool}); clones share blocks within one pool`);
  }
  if (object.spec.sizeGiB < sizeGiB) {
    throw new EmulatorError("invalid", `volume ${object.name} (${object.spec.sizeGiB} GiB) cannot be cloned from ${name}, which holds ${sizeGiB} GiB: a clone is at least as large as its source`);
  }
  ctx.event("volume.cloned", object.id, `from ${name}`);
}

function checkRoom(ctx: EmulatorContext, object: VolumeObject, spec: SpecOf<"volumes">): void {
  const pool = ctx.find("pools", spec.pool, "pool");
  if (pool.spec.maxVolumeGiB !== undefined && spec.sizeGiB > pool.spec.maxVolumeGiB) {
    throw new EmulatorError("invalid", `volume ${object.name} asks ${spec.sizeGiB} GiB; pool ${pool.name} allows at most ${pool.spec.maxVolumeGiB} GiB per volume`);
  }
  const provisionable = capacityGiB(pool.spec.devices) * pool.spec.overcommit;
  const allocated = allocatedGiB(ctx, pool.id, object.id);
  const quota = pool.spec.quota;
  if (quota?.volumes !== undefined && !ctx.data.volumes[object.id]) {
    const count = Object.values(ctx.data.volumes).filter((v) => v.spec.pool === pool.id).length;
    if (count + 1 > quota.volumes) {
      throw new EmulatorError("capacity", `pool ${pool.name} has a quota of ${quota.volumes} volumes and holds ${count}; volume ${object.name} would exceed it`);
    }
  }
  if (quota?.allocatedGiB !== undefined && allocated + spec.sizeGiB > quota.allocatedGiB) {
    throw new EmulatorError(
      "capacity",
      `pool ${pool.name} has a quota of ${quota.allocatedGiB} GiB allocated; volume ${object.name} asks ${spec.sizeGiB} GiB with ${allocated} GiB already allocated`,
    );
  }
  if (allocated + spec.sizeGiB > provisionable) {
    throw new EmulatorError(
      "capacity",
      `pool ${pool.name} cannot provision ${spec.sizeGiB} GiB for volume ${object.name}: ${allocated} of ${provisionable} GiB are already allocated`,
    );
  }
}

export function attachmentsOf(ctx: EmulatorContext, volumeId: string) {
  return Object.values(ctx.data.attachments).filter((a) => a.spec.volume === volumeId);
}
