// Snapshots: a volume's contents at one moment, read-only. The control plane records which volume
// and pool it came from and the size then; the data plane takes the copy-on-write snapshot in the
// pool right after the transaction (see emulator/data-plane.ts).
import { EmulatorError, conflict } from "../errors.ts";
import type { ObjectService } from "../service.ts";

export const snapshotService: ObjectService<"snapshots"> = {
  collection: "snapshots",
  idPrefix: "snap",
  create(ctx, object) {
    const volume = ctx.find("volumes", object.spec.volume, "volume");
    object.pool = volume.spec.pool;
    object.sizeGiB = volume.spec.sizeGiB;
    ctx.event("snapshot.taken", object.id, `of ${volume.name} (${volume.spec.sizeGiB} GiB)`);
  },
  update(_ctx, object, spec) {
    if (spec.volume !== object.spec.volume) {
      throw new EmulatorError("invalid", `snapshot ${object.name} is of volume ${object.spec.volume}; take a new snapshot instead`);
    }
    object.spec = spec;
  },
  delete(_ctx, object) {
    if (object.spec.deleteProtection) {
      throw conflict(`snapshot ${object.name} has delete protection; set deleteProtection: false first`);
    }
    // Clones made from it keep their data: they share its blocks copy-on-write, counted per block.
  },
  outputs(_ctx, object) {
    return { pool: object.pool, sizeGiB: object.sizeGiB };
  },
};
