// Every resource kind. Adding a kind here is all the engine, the provider and the CLI need.
import type { KindInfo } from "../../core/model.ts";
import { secretPaths } from "../../core/secret-paths.ts";
import { attachment } from "./attachment.ts";
import { cluster } from "./cluster.ts";
import { image } from "./image.ts";
import { instance } from "./instance.ts";
import type { Kind } from "./kind.ts";
import { snapshot } from "./snapshot.ts";
import { storagePool } from "./storage-pool.ts";
import { volume } from "./volume.ts";

export { attachment, cluster, image, instance, snapshot, storagePool, volume };
export const kinds = { Cluster: cluster, Image: image, StoragePool: storagePool, Volume: volume, Snapshot: snapshot, Instance: instance, Attachment: attachment } as const;
export type KindName = keyof typeof kinds;
export const kindList: readonly Kind[] = Object.values(kinds);
export const kindInfo: ReadonlyMap<string, KindInfo> = new Map(kindList.map((k) => [k.name, k]));
/** Each kind's name by the prefix of its addresses: "volume" -> "Volume". */
export const kindsByPrefix: ReadonlyMap<string, KindName> = new Map(kindList.map((k) => [k.addressPrefix, k.name as KindName]));

/** A resource's secret paths: its kind's secret fields and what the program wrapped with secret(). */
export function secretPathsOf(kind: string, extra: readonly string[] | undefined): readonly string[] {
  return secretPaths(kindInfo.get(kind), extra);
}
