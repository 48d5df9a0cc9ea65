// The REST collections and the resource kind each one carries; shared by the server and its client.
import { EMULATOR_ERROR_CODES } from "../errors.ts";
import type { KindName } from "../../sdk/kinds/index.ts";
import type { Collection } from "../data.ts";

export const COLLECTIONS = {
  clusters: "Cluster",
  instances: "Instance",
  images: "Image",
  pools: "StoragePool",
  volumes: "Volume",
  snapshots: "Snapshot",
  attachments: "Attachment",
} as const satisfies { [C in Collection]: KindName };

export type CollectionName = keyof typeof COLLECTIONS;

export const collectionOf = Object.fromEntries(Object.entries(COLLECTIONS).map(([c, k]) => [k, c])) as {
  [K in KindName]: CollectionName;
};

/** Error codes in `{ "error": { "code", "message" } }` bodies: the emulator's, plus the HTTP layer's own. */
export const API_ERROR_CODES = [...EMULATOR_ERROR_CODES, "unauthorized", "malformed", "unsupported-media-type", "too-large", "internal"] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}
