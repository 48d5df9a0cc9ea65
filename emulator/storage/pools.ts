// Storage pools: devices become LUNs; consumers see one capacity. Thin provisioning lets volumes add
// up to capacity x overcommit.
import type { EmulatorContext } from "../context.ts";
import type { PoolObject } from "../data.ts";
import { EmulatorError, conflict } from "../errors.ts";
import type { ObjectService } from "../service.ts";
import { readable } from "../figures.ts";

export const poolService: ObjectService<"pools"> = {
  collection: "pools",
  idPrefix: "pool",
  create(ctx, object) {
    ctx.storage?.checkDevices(object.spec.devices.map((d, i) => ({ what: `device ${i} of pool ${object.name}`, sizeGiB: d.sizeGiB })));
    object.luns = object.spec.devices.map((d, lun) => ({ lun, sizeGiB: d.sizeGiB }));
  },
  update(ctx, object, spec) {
    // LUNs hold volume extents: taking one away would take the data on it.
    if (spec.devices.length < object.spec.devices.length) {
      throw new EmulatorError("invalid", `devices of pool ${object.name} cannot be removed (it has ${object.spec.devices.length}); its LUNs hold volume data`);
    }
    const kept = Math.min(object.spec.devices.length, spec.devices.length);
    for (let i = 0; i < kept; i++) {
      if (spec.devices[i]!.sizeGiB < object.spec.devices[i]!.sizeGiB) {
        throw new EmulatorError("invalid", `device ${i} of pool ${object.name} cannot shrink`);
      }
    }
    // Devices that grow or are added must fit the host's filesystem like new ones.
    const grown = spec.devices
      .map((d, i) => ({ what: `device ${i} of pool ${object.name}`, sizeGiB: d.sizeGiB }))
      .filter((d, i) => d.sizeGiB > (object.spec.devices[i]?.sizeGiB ?? 0));
    ctx.storage?.checkDevices(grown);
    const provisionable = capacityGiB(spec.devices) * spec.overcommit;
    const allocated = allocatedGiB(ctx, object.id);
    if (allocated > provisionable) {
      throw new EmulatorError(
        "capacity",
        `pool ${object.name} would offer ${provisionable} GiB but its volumes already hold ${allocated} GiB`,
      );
    }
    object.spec = spec;
    object.luns = spec.devices.map((d, lun) => ({ lun, sizeGiB: d.sizeGiB }));
  },
  delete(ctx, object) {
    const volumes = Object.values(ctx.data.volumes).filter((v) => v.spec.pool === object.id);
    if (volumes.length > 0) throw conflict(`pool ${object.name} still holds volumes ${volumes.map((v) => v.name).join(", ")}`);
    const snapshots = Object.values(ctx.data.snapshots).filter((v) => v.pool === object.id);
    if (snapshots.length > 0) throw conflict(`pool ${object.name} still holds snapshots ${snapshots.map((v) => v.name).join(", ")}`);
  },
  outputs(_ctx, object) {
    const capacity = capacityGiB(object.spec.devices);
    return { capacityGiB: readable(capacity), provisionableGiB: readable(capacity * object.spec.overcommit), luns: object.luns.length };
  },
};

export function capacityGiB(devices: PoolObject["spec"]["devices"]): number {
  return devices.reduce((sum, d) => sum + d.sizeGiB, 0);
}

/**
 * GiB allocated per pool, by volume: built from the data once, then kept current by the volume
 * service, so a create does not scan every volume of the emulator.
 */
export function poolAllocation(ctx: EmulatorContext): Map<string, PoolAllocation> {
  let allocation = ctx.derived.get("pool-allocation") as Map<string, PoolAllocation> | undefined;
  if (!allocation) {
    allocation = new Map();
    for (const v of Object.values(ctx.data.volumes)) allocationOf(allocation, v.spec.pool).set(v.id, v.spec.sizeGiB);
    ctx.derived.set("pool-allocation", allocation);
  }
  return allocation;
}

export function allocationOf(allocation: Map<string, PoolAllocation>, poolId: string): PoolAllocation {
  let pool = allocation.get(poolId);
  if (!pool) allocation.set(poolId, (pool = new PoolAllocation()));
  return pool;
}

/**
 * One pool's volumes and their sizes, with their sum kept while volumes are only added (a create
 * asks it per volume: a scan was quadratic). The sum is the scan's, added in the same order, so a
 * message shows the same figure to the last bit; any other change drops it until the next scan.
 */
export class PoolAllocation {
  private readonly sizes = new Map<string, number>();
  private sum: number | undefined = 0;

  set(volumeId: string, sizeGiB: number): void {
    if (this.sum !== undefined && !this.sizes.has(volumeId)) this.sum += sizeGiB;
    else this.sum = undefined;
    this.sizes.set(volumeId, sizeGiB);
  }

  delete(volumeId: string): void {
    if (this.sizes.delete(volumeId)) this.sum = undefined;
  }

  /** GiB allocated to the pool's volumes but `except`. */
  allocated(except?: string): number {
    if (except !== undefined && this.sizes.has(except)) return this.scan(except);
    return (this.sum ??= this.scan());
  }

  private scan(except?: string): number {
    let sum = 0;
    for (const [id, size] of this.sizes) if (id !== except) sum += size;
    return sum;
  }
}

export function allocatedGiB(ctx: EmulatorContext, poolId: string, except?: string): number {
  return poolAllocation(ctx).get(poolId)?.allocated(except) ?? 0;
}
