// What virtform calls its objects in libvirt: ids from the idempotency token, domain, disk and
// console names, and where a volume's file lives (its storage pool's dir pool, its format).
import { createHash } from "node:crypto";
import type { KindName } from "../../sdk/kinds/index.ts";
import type { Catalogue, CatalogueRecord } from "./catalogue.ts";
import { poolNameOf } from "./hosts.ts";

/** Ids from the idempotency token: a retried create names the same objects in libvirt. */
export function idFor(kind: KindName, token: string): string {
  const prefix = { Cluster: "cl", Image: "img", StoragePool: "pool", Volume: "vol", Snapshot: "snap", Instance: "i", Attachment: "att" }[kind];
  return `${prefix}-${createHash("sha256").update(`${kind}\n${token}`).digest("hex").slice(0, 12)}`;
}

export function domainName(instanceId: string): string {
  return `vf-${instanceId}`;
}

/** The file a built variant's domain writes its serial console to (the boot marker is read there). */
export function consoleVolume(instanceId: string): string {
  return `${instanceId}-console.log`;
}

/** The cloud-init seed of an instance with userData (cloud-init-seed.ts). */
export function seedVolume(instanceId: string): string {
  return `${instanceId}-seed.iso`;
}

export function aliasOf(attachmentId: string): string {
  return `ua-${attachmentId}`;
}

/** What a domain carries of its instance: enough to say whose it is without the catalogue (never the user data: it may hold secrets). */
export function metadataOf(r: CatalogueRecord): unknown {
  const { userData: _secret, ...spec } = r.spec;
  return { kind: r.kind, id: r.id, name: r.name, token: r.token, tags: r.tags, spec };
}

/** The storage pool of a volume (a snapshot's, kept in its record for when the volume is gone). */
export function volumePoolOf(catalogue: Catalogue, volumeId: string, fallback: CatalogueRecord): string {
  return String(catalogue.get(volumeId)?.spec.pool ?? fallback.pool ?? fallback.spec.pool ?? "");
}

/** The libvirt pool holding a volume or snapshot: its storage pool's dir pool. */
export function poolOf(catalogue: Catalogue, id: string): string {
  const record = catalogue.get(id)!;
  const pool = record.kind === "Snapshot" ? volumePoolOf(catalogue, String(record.spec.volume), record) : String(record.spec.pool);
  return poolNameOf(pool);
}

/** A volume's or snapshot's file name in its pool: raw images (multi-attach) are .img. */
export function fileNameOf(catalogue: Catalogue, id: string): string {
  return `${id}.${catalogue.get(id)?.format === "raw" ? "img" : "qcow2"}`;
}
