// The emulator's whole state as one plain document: easy to persist atomically, to inspect, and to
// copy for a rehearsal of a plan.
import type { InputsOf } from "../sdk/kinds/kind.ts";
import { nullPrototype } from "../core/own.ts";
import type { attachment, cluster, image, instance, snapshot, storagePool, volume } from "../sdk/kinds/index.ts";

export interface Host {
  id: string;
  index: number;
  vcpu: number;
  memoryGiB: number;
  localDiskGiB: number;
}

interface Base<Spec> {
  id: string;
  /** The address or name the client gave; for people reading `emulator inspect`. */
  name: string;
  spec: Spec;
  createdAt: string;
  /** Labels the client gave at create (see tags.ts); absent when none. */
  tags?: Record<string, string>;
  /** Spec paths the client marked secret (a program's secret() values), beside the kind's own secret fields. */
  secretPaths?: string[];
}

export interface ClusterObject extends Base<InputsOf<typeof cluster>> {
  hosts: Host[];
}
export interface ImageObject extends Base<InputsOf<typeof image>> {
  variants: Record<
    string,
    { digest: string; packages: string[]; config: Record<string, string | number | boolean>; layers?: string[]; sizeBytes?: number }
  >;
  /** The image's layers by digest (a sorted package set and its installed size), each stored once. */
  layers?: Record<string, { packages: string[]; sizeBytes: number }>;
  sharedBytes?: number;
}
export interface PoolObject extends Base<InputsOf<typeof storagePool>> {
  luns: { lun: number; sizeGiB: number }[];
}
export interface VolumeObject extends Base<InputsOf<typeof volume>> {}
/** A snapshot keeps the pool and size its volume had when it was taken: the volume may grow or go. */
export interface SnapshotObject extends Base<InputsOf<typeof snapshot>> {
  pool: string;
  sizeGiB: number;
}
export type InstanceState = "pending" | "running" | "stopped" | "terminated";
export interface InstanceObject extends Base<InputsOf<typeof instance>> {
  hostId: string;
  state: InstanceState;
  /** Bumped whenever the local disk's bytes are gone (stop, terminate): the data path keys them by it. */
  localDiskEpoch?: number;
  terminatedAt?: string;
  /** The image digest (top layer) of the built variant it booted; absent when the variant was not built. */
  imageDigest?: string;
}
export type AttachmentState = "attaching" | "attached" | "detaching" | "detached";
export interface AttachmentObject extends Base<InputsOf<typeof attachment>> {
  device: string;
  /** attaching -> attached -> detaching -> detached; each step is an event, the object lives while attached. */
  state: AttachmentState;
}

export interface EmulatorEvent {
  seq: number;
  time: string;
  type: string;
  id: string;
  detail?: string;
}

export interface EmulatorData {
  version: 1;
  nextId: number;
  clusters: Record<string, ClusterObject>;
  images: Record<string, ImageObject>;
  pools: Record<string, PoolObject>;
  volumes: Record<string, VolumeObject>;
  snapshots: Record<string, SnapshotObject>;
  instances: Record<string, InstanceObject>;
  attachments: Record<string, AttachmentObject>;
  /** Terminated instances, kept a while (as clouds show them) so that acting on one is a clear conflict. */
  terminated: Record<string, InstanceObject>;
  /** Idempotency tokens of creates: a retried create returns the object it made the first time. */
  tokens: Record<string, { collection: Collection; id: string }>;
  events: EmulatorEvent[];
}

/** The collections of objects, one per kind (http/collections.ts says which kind each carries). */
export type Collection = "clusters" | "images" | "pools" | "volumes" | "snapshots" | "instances" | "attachments";

/** The records keyed by ids and tokens that clients send: what a transaction's undo log and journal line track. */
export const KEYED_RECORDS = ["clusters", "images", "pools", "volumes", "snapshots", "instances", "attachments", "terminated", "tokens"] as const;

export function emptyData(): EmulatorData {
  return {
    version: 1,
    nextId: 1,
    clusters: {},
    images: {},
    pools: {},
    volumes: {},
    snapshots: {},
    instances: {},
    attachments: {},
    terminated: {},
    tokens: {},
    events: [],
  };
}

/** Brings data written by an earlier version (or parsed, or cloned) up to date, in place. */
export function upgradeData(data: EmulatorData): void {
  // Without a prototype, `pools["constructor"]` is absent rather than Object, and `pools["__proto__"] = x` is data.
  const records = data as unknown as Record<string, Record<string, unknown> | undefined>;
  for (const record of KEYED_RECORDS) records[record] = nullPrototype(records[record]);
  for (const instance of Object.values(data.instances)) {
    // Placement was a bare policy before affinity rules existed.
    const placement = instance.spec.placement as unknown;
    if (typeof placement === "string") instance.spec.placement = { policy: placement as "spread" | "pack" };
    else instance.spec.placement ??= {};
  }
}
