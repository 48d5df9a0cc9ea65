// The libvirt backend's refusals, made from the catalogue before libvirt is touched (so a
// rehearsal, which changes nothing, refuses what the apply would): pool room and quotas, deletes
// that would break something. Worded as the emulator words the same refusals.
import type { Value } from "../../core/model.ts";
import { VirtformError } from "../../core/virtform-error.ts";
import type { KindName } from "../../sdk/kinds/index.ts";
import type { Catalogue, CatalogueRecord } from "./catalogue.ts";

/** `libvirt`: a host refused or failed what was asked (its own words follow). */
export type LibvirtErrorCode = "not-found" | "conflict" | "invalid" | "capacity" | "libvirt";

export class LibvirtBackendError extends VirtformError<LibvirtErrorCode> {
  readonly layer = "libvirt";
}

/** Objects settled in the catalogue: neither being made nor being deleted. */
export function live(catalogue: Catalogue, kind: KindName): CatalogueRecord[] {
  return catalogue.all(kind).filter((r) => r.intent !== "delete" && r.intent !== "create");
}

export function attachmentsOf(catalogue: Catalogue, by: { volume?: string; instance?: string }): CatalogueRecord[] {
  return catalogue.all("Attachment").filter((a) => a.intent !== "delete" && (by.volume === undefined || a.spec.volume === by.volume) && (by.instance === undefined || a.spec.instance === by.instance));
}

export function allocatedGiB(catalogue: Catalogue, poolId: string, except?: string): number {
  return live(catalogue, "Volume")
    .filter((v) => v.spec.pool === poolId && v.id !== except)
    .reduce((sum, v) => sum + (v.spec.sizeGiB as number), 0);
}

export function provisionableGiB(pool: CatalogueRecord): number {
  return (pool.spec.devices as { sizeGiB: number }[]).reduce((s, d) => s + d.sizeGiB, 0) * (pool.spec.overcommit as number);
}

export function checkRoom(catalogue: Catalogue, volume: CatalogueRecord, pool: CatalogueRecord, sizeGiB: number): void {
  const p = pool.spec as { maxVolumeGiB?: number; quota?: { volumes?: number; allocatedGiB?: number } };
  if (p.maxVolumeGiB !== undefined && sizeGiB > p.maxVolumeGiB) {
    throw new LibvirtBackendError("invalid", `volume ${volume.name} asks ${sizeGiB} GiB; pool ${pool.name} allows at most ${p.maxVolumeGiB} GiB per volume`);
  }
  const allocated = allocatedGiB(catalogue, pool.id, volume.id);
  if (p.quota?.volumes !== undefined && !catalogue.get(volume.id)) {
    const count = live(catalogue, "Volume").filter((v) => v.spec.pool === pool.id).length;
    if (count + 1 > p.quota.volumes) throw new LibvirtBackendError("capacity", `pool ${pool.name} has a quota of ${p.quota.volumes} volumes and holds ${count}; volume ${volume.name} would exceed it`);
  }
  if (p.quota?.allocatedGiB !== undefined && allocated + sizeGiB > p.quota.allocatedGiB) {
    throw new LibvirtBackendError("capacity", `pool ${pool.name} has a quota of ${p.quota.allocatedGiB} GiB allocated; volume ${volume.name} asks ${sizeGiB} GiB with ${allocated} GiB already allocated`);
  }
  const provisionable = provisionableGiB(pool);
  if (allocated + sizeGiB > provisionable) {
    throw new LibvirtBackendError("capacity", `pool ${pool.name} cannot provision ${sizeGiB} GiB for volume ${volume.name}: ${allocated} of ${provisionable} GiB are already allocated`);
  }
}

/** A pool's new size must still hold its volumes. */
export function checkPoolHolds(catalogue: Catalogue, pool: CatalogueRecord, spec: Record<string, Value>): void {
  const allocated = allocatedGiB(catalogue, pool.id);
  const provisionable = provisionableGiB({ ...pool, spec });
  if (allocated > provisionable) throw new LibvirtBackendError("capacity", `pool ${pool.name} would offer ${provisionable} GiB but its volumes hold ${allocated} GiB`);
}

/** What a delete must not break: protection, attachments (libvirt would delete a volume in use), clones, members. */
export function checkDelete(catalogue: Catalogue, record: CatalogueRecord): void {
  const { spec } = record;
  if (spec.deleteProtection === true) throw new LibvirtBackendError("conflict", `${record.kind === "Volume" ? "volume" : "snapshot"} ${record.name} has delete protection; set deleteProtection: false first`);
  switch (record.kind) {
    case "Volume": {
      // libvirt deletes a volume a running domain uses; virtform does not.
      const attached = attachmentsOf(catalogue, { volume: record.id });
      if (attached.length > 0) {
        throw new LibvirtBackendError("conflict", `volume ${record.name} is attached (${attached.map((a) => `${a.device} of ${catalogue.get(String(a.spec.instance))?.name ?? a.spec.instance}`).join(", ")}); detach it first`);
      }
      checkNoClones(catalogue, record);
      return;
    }
    case "Snapshot":
      checkNoClones(catalogue, record);
      return;
    case "Cluster": {
      const members = live(catalogue, "Instance").filter((i) => i.spec.cluster === record.id);
      if (members.length > 0) throw new LibvirtBackendError("conflict", `cluster ${record.name} still runs ${members.length} instance(s): ${members.map((i) => i.name).join(", ")}`);
      return;
    }
    case "StoragePool": {
      const volumes = live(catalogue, "Volume").filter((v) => v.spec.pool === record.id);
      if (volumes.length > 0) throw new LibvirtBackendError("conflict", `pool ${record.name} still holds volumes ${volumes.map((v) => v.name).join(", ")}`);
      return;
    }
    case "Image": {
      const users = live(catalogue, "Instance").filter((i) => (i.spec.image as { image: string }).image === record.id);
      if (users.length > 0) throw new LibvirtBackendError("conflict", `image ${record.name} is used by ${users.map((i) => i.name).join(", ")}`);
      return;
    }
    default:
      return;
  }
}

/** A qcow2 overlay reads through to its backing file: the backing file stays while a clone needs it. */
function checkNoClones(catalogue: Catalogue, record: CatalogueRecord): void {
  const clones = live(catalogue, "Volume").filter((v) => v.spec.source === record.id && v.host);
  if (record.host && clones.length > 0) {
    throw new LibvirtBackendError("conflict", `${record.kind === "Volume" ? "volume" : "snapshot"} ${record.name} backs the clones ${clones.map((c) => c.name).join(", ")} (qcow2 backing files); delete them first`);
  }
}
