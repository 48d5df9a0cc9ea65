// What a backend supplies to run the conformance suite (suite.ts), as Terraform's statemgr.TestFull
// asks of a state manager: a fresh world on the backend, how `virtform` reaches it, the DSL that
// declares a cluster, pool and image on it, and the operations the suite needs beside virtform's
// own: changes made behind virtform's back (drift), the bytes of volumes and disks, a restart.
// The embedded emulator and the emulator over HTTP implement it (targets/); a libvirt backend does
// the same with virsh and qemu-io. A backend's test file is one call: `backendConformance(target)`.
import type { Backend } from "../../provider/backend.ts";

export interface ConformanceTarget {
  /** Names the suite's describe block: "embedded emulator", "emulator over HTTP", "libvirt". */
  name: string;
  /** A world of its own: nothing of another world is visible in it. */
  open(): Promise<ConformanceWorld>;
  /**
   * A capability: set by a backend whose volume holds no bytes anywhere until its first attachment
   * (libvirt: a volume takes the host of the instance it is first attached to, a dir pool being a
   * directory of one host, so it has no file before). Where the suite reaches a volume's bytes
   * outside any instance, it first attaches the volume to an instance; its checks stay the same.
   */
  volumeBytesAfterAttach?: boolean;
}

export interface ConformanceWorld {
  /** The working directory `virtform` runs in: programs and `.virtform/state` live here. */
  dir: string;
  /** The backend under test: the objects `virtform` runs make, read without the engine. Stays usable across `restart()`. */
  backend: Backend;
  declarations: Declarations;
  /**
   * Environment `virtform` needs to reach this backend (an endpoint and token; none for the
   * embedded emulator, which lives in `dir`). The suite runs the CLI in process and, for crash
   * tests, as a process of its own, with this environment.
   */
  cliEnv: Record<string, string>;
  /** Called before each `virtform` run: let go of anything the CLI needs alone (an open data dir). */
  beforeCli(): Promise<void>;
  outOfBand: OutOfBand;
  bytes: ByteAccess;
  /** Stops the backend and starts it again on the same data (a daemon restart, a host reboot of the service). */
  restart(): Promise<void>;
  /** Stops everything `open()` started and removes what it made. */
  dispose(): Promise<void>;
}

/**
 * DSL expressions (TypeScript source, inside `stack(name, (s) => { ... })`) declaring objects that
 * land on this backend. The suite reads their capacity back from the backend (the cluster's
 * `usable` and `hostIds`, the pool's `provisionableGiB`), so a target may declare what it has.
 */
export interface Declarations {
  /** A cluster of at least two hosts, each with room for a few 1-vCPU 1-GiB instances and their local disks. */
  cluster(name: string, revision?: Revision): string;
  /** A pool of at least 1 GiB (volumes of the suite are 64 to 256 MiB). */
  pool(name: string, revision?: Revision): string;
  /** An image with a variant `light` the cluster can boot. */
  image(name: string, revision?: Revision): string;
}

/** 1: the declaration; 2: the same object changed in a way the kind updates in place (no replacement). */
export type Revision = 1 | 2;

/** Changes made without virtform, as an operator with the backend's own tools would (virsh, the emulator's API). */
export interface OutOfBand {
  /** Terminates an instance (virsh destroy + undefine). */
  deleteInstance(instanceId: string): Promise<void>;
  /** Grows a volume to `sizeGiB` (virsh vol-resize). */
  resizeVolume(volumeId: string, sizeGiB: number): Promise<void>;
  /** Powers an instance off or on, or reboots it (virsh destroy / start / reboot). */
  power(instanceId: string, action: "stop" | "start" | "reboot"): Promise<void>;
}

/** A disk as a running instance sees it: its local disk, or the attached volume. */
export type Disk = "local" | { volume: string };

/** Bytes, read and written as a client of the backend's data path would (NBD, the devices API, qemu-io). */
export interface ByteAccess {
  /** A volume's bytes outside any instance (an NBD export, qemu-io on the image); written durably. */
  writeVolume(volumeId: string, offset: number, data: Buffer): Promise<void>;
  readVolume(volumeId: string, offset: number, length: number): Promise<Buffer>;
  /** Through a running instance; rejects for a read-only attachment, a stopped or terminated instance. Written durably. */
  writeDisk(instanceId: string, disk: Disk, offset: number, data: Buffer): Promise<void>;
  readDisk(instanceId: string, disk: Disk, offset: number, length: number): Promise<Buffer>;
  /** The size of a volume as its data path shows it (bytes). */
  volumeSize(volumeId: string): Promise<number>;
}
