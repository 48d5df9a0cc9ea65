// The libvirt hosts a backend talks to: one connection per URI (kept for the process), each host's
// size as the host reports it, and the dir pools virtform keeps there (its home pool for boot
// overlays, local disks and images; one per storage pool).
import { LibvirtBackendError } from "./rules.ts";
import { createHash } from "node:crypto";
import { parseMemStats, parseNodeInfo, parseSizes } from "./parse.ts";
import { VirshConnection, hostLabel } from "./virsh.ts";

const GiB = 1024 ** 3;

export interface HostFacts {
  uri: string;
  label: string;
  cpus: number;
  memoryGiB: number;
  /** Memory free when read (free, buffers and page cache). */
  freeMemoryGiB: number;
  /** The size of the home pool's file system: the room for local disks. */
  localDiskGiB: number;
}

export class LibvirtHosts {
  private readonly connections = new Map<string, VirshConnection>();
  private readonly facts = new Map<string, Promise<HostFacts>>();
  private readonly pools = new Map<string, Promise<void>>();
  /** Directory on each host under which virtform's dir pools are made. */
  readonly poolRoot: string;

  constructor(poolRoot = "/var/tmp") {
    this.poolRoot = poolRoot;
  }

  connection(uri: string): VirshConnection {
    let c = this.connections.get(uri);
    if (!c) this.connections.set(uri, (c = new VirshConnection(uri)));
    return c;
  }

  /** The host's size, read once per process. */
  factsOf(uri: string): Promise<HostFacts> {
    let f = this.facts.get(uri);
    if (!f) {
      f = this.readFacts(uri);
      f.catch(() => this.facts.delete(uri)); // an unreachable host is asked again next time
      this.facts.set(uri, f);
    }
    return f;
  }

  private async readFacts(uri: string): Promise<HostFacts> {
    const c = this.connection(uri);
    let [node, mem, home] = await c.batch([["nodeinfo"], ["nodememstats"], ["pool-info", HOME_POOL, "--bytes"]]);
    if (!home!.ok || !/State:\s+running/.test(home!.out)) {
      // A host virtform has not used yet: its home pool is made first.
      await this.ensurePool(uri, HOME_POOL, "home");
      [home] = await c.batch([["pool-info", HOME_POOL, "--bytes"]]);
    }
    for (const r of [node!, mem!, home!]) if (!r.ok) throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: cannot read the host's size: ${r.error}`);
    const info = parseNodeInfo((node as { out: string }).out);
    const stats = parseMemStats((mem as { out: string }).out);
    const free = (stats.free ?? 0) + (stats.buffers ?? 0) + (stats.cached ?? 0);
    return {
      uri,
      label: hostLabel(uri),
      cpus: info.cpus,
      memoryGiB: info.memoryKiB / 1024 ** 2,
      freeMemoryGiB: free / 1024 ** 2,
      // The file system's size, not what is free now: a cluster's usable room must not move with every write.
      localDiskGiB: (parseSizes((home as { out: string }).out).capacity ?? 0) / GiB,
    };
  }

  /** The dir pool `name` on the host, defined, built and started (once per process). */
  ensurePool(uri: string, name: string, dirName: string): Promise<void> {
    const key = `${uri}\n${name}`;
    let p = this.pools.get(key);
    if (!p) {
      p = this.makePool(uri, name, dirName);
      p.catch(() => this.pools.delete(key));
      this.pools.set(key, p);
    }
    return p;
  }

  private async makePool(uri: string, name: string, dirName: string): Promise<void> {
    const c = this.connection(uri);
    const [info] = await c.batch([["pool-info", name]]);
    if (info!.ok && /State:\s+running/.test(info!.out)) return;
    if (!info!.ok) {
      const target = `${this.poolRoot}/virtform-${hostHash(uri)}-${dirName}`;
      await c.run("pool-define-as", name, "dir", "--target", target);
      await c.run("pool-build", name);
    }
    await c.run("pool-start", name);
    await c.run("pool-autostart", name);
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}

export const HOME_POOL = "vf-home";

export function poolNameOf(poolId: string): string {
  return `vf-${poolId}`;
}

/** Two URIs of one machine (two session daemons) need two directories. */
function hostHash(uri: string): string {
  return createHash("sha256").update(uri.split("?")[0]! + (/[?&]socket=([^&]+)/.exec(uri)?.[1] ?? "")).digest("hex").slice(0, 10);
}
