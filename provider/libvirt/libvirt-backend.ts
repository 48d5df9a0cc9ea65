// The libvirt backend: virtform's kinds on real libvirt/QEMU hosts, behind the same Backend seam as
// the emulator. A cluster is a list of connection URIs; an instance a domain booting a qcow2 overlay
// of its variant's image; a storage pool a dir pool on each host; a volume a qcow2 file (raw when
// made multi-attach: QEMU shares only raw images read-write) grown in place, never recreated; a
// snapshot a copy of it; a clone an overlay backed by its source; an attachment a disk hot-plugged
// with <readonly/> or <shareable/>; a local disk a <transient/> disk.
// A volume takes its host when first attached (or cloned from one that has a host): until then it
// holds no bytes and libvirt does not know it. A dir pool is local to its host, so a volume on one
// host cannot be attached to an instance on another: refused, naming both hosts, when planned.
// Identity: ids derive from the create's idempotency token (the same token, the same names in
// libvirt); the catalogue (catalogue.ts) keeps specs and owners with an intent per change in flight.
import { usableCapacity } from "../../emulator/compute/hypervisors.ts";
import { placeInstance, type HostRoom } from "../../emulator/compute/placement.ts";
import { builtVariants } from "../../images/build/built-images.ts";
import { defaultCacheDir } from "../../images/build/layer-cache.ts";
import type { LockedImageRequest } from "../../images/build/variant-images.ts";
import type { Value } from "../../core/model.ts";
import type { CapacityRow } from "../../engine/provider.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import type { Backend, BackendObject } from "../backend.ts";
import { Catalogue, type CatalogueRecord } from "./catalogue.ts";
import { METADATA_NS } from "./domain-xml.ts";
import { LibvirtHosts, type HostFacts } from "./hosts.ts";
import { hostOf, readObservation, round, viewOf, type Observation } from "./observation.ts";
import { escapeXml, isRunning, parseSizes } from "./parse.ts";
import { allocatedGiB, attachmentsOf, checkDelete, checkPoolHolds, checkRoom, LibvirtBackendError, live, provisionableGiB } from "./rules.ts";
import { VariantVolumes } from "./variant-volumes.ts";
import { HostChanges } from "./host-changes.ts";
import { consoleVolume, domainName, fileNameOf, idFor, metadataOf, poolOf, volumePoolOf } from "./names.ts";
import { hostLabel } from "./virsh.ts";

export { LibvirtBackendError };
export { consoleVolume, domainName, idFor };

const GiB = 1024 ** 3;
const DEVICES = "bcdefghijklmnopqrstuvwxyz".split("").map((c) => `vd${c}`);

export interface LibvirtBackendOptions {
  /** Where the catalogue is kept (.virtform/libvirt/catalogue.json); none for an in-memory one. */
  catalogueFile?: string | undefined;
  /** Cluster name (its address, "cluster.web", or the bare "web") -> URIs: the stack config's override of hosts.uris. */
  clusterHosts?: Record<string, string[]>;
  /** Directory on each host under which the dir pools are made. */
  poolRoot?: string;
  /** The hosts of a cluster that names none (neither in its spec nor in clusterHosts): for suites that run programs written for the emulator. */
  defaultHosts?: string[];
  /** The layer cache built variants are read from (`virtform images build`); VIRTFORM_IMAGE_CACHE or ~/.cache/virtform/images by default. */
  imageCache?: string;
}

export class LibvirtBackend implements Backend {
  private readonly options: LibvirtBackendOptions;
  private readonly catalogue: Catalogue;
  private readonly hosts: LibvirtHosts;
  private readonly imageCache: string;
  private readonly changes: HostChanges;
  /** A rehearsal: checks and records everything, changes nothing in libvirt. */
  private readonly dry: boolean;
  private observed: { at: number; generation: number; value: Promise<Observation> } | undefined;
  private generation = 0;

  constructor(options: LibvirtBackendOptions, internals?: { catalogue: Catalogue; hosts: LibvirtHosts; dry: boolean }) {
    this.options = options;
    this.catalogue = internals?.catalogue ?? new Catalogue(options.catalogueFile);
    this.hosts = internals?.hosts ?? new LibvirtHosts(options.poolRoot);
    this.dry = internals?.dry ?? false;
    this.imageCache = options.imageCache ?? defaultCacheDir();
    this.changes = new HostChanges(this.catalogue, this.hosts, new VariantVolumes(this.hosts, this.imageCache));
  }

  close(): void {
    if (!this.dry) this.hosts.close();
  }

  // ---- Backend ----

  async create(kind: KindName, rawSpec: Record<string, Value>, options: { name: string; token: string; tags?: Record<string, string> }): Promise<BackendObject> {
    const id = idFor(kind, options.token);
    const existing = this.catalogue.get(id);
    if (existing && !existing.intent) {
      const seen = this.view(existing, await this.observe());
      if (seen) return seen; // a retried create: the object it made
    }
    if (existing) await this.undo(existing); // a create killed half-way (or its object lost): start again
    const spec = parseSpec(kind, rawSpec);
    const record: CatalogueRecord = { kind, id, name: options.name, token: options.token, tags: options.tags ?? {}, spec, intent: "create" };
    // Checks and choices (host, device) and the intent record, one create at a time: two
    // instances created at once must each see the other's room taken. A refusal changes nothing.
    await this.serially(async () => {
      await this.prepare(record);
      this.catalogue.put(record);
      this.generation++;
    });
    try {
      if (!this.dry) await this.changes.make(record);
    } catch (err) {
      await this.undo(record).catch(() => undefined);
      throw err;
    }
    delete record.intent;
    this.catalogue.put(record);
    this.generation++;
    const made = this.view(record, await this.observe());
    if (!made) throw new Error(`bug in virtform: ${kind} ${record.name} (${id}) was made but libvirt does not show it`);
    return made;
  }

  async get(kind: KindName, id: string): Promise<BackendObject | null> {
    const record = this.catalogue.get(id);
    if (!record || record.kind !== kind || record.intent === "create") return null;
    const seen = this.view(record, await this.observe());
    if (!seen) await this.forgetLost([record]);
    return seen;
  }

  async list(kind: KindName, filter?: { tags?: Record<string, string> }): Promise<BackendObject[]> {
    const observation = await this.observe();
    const wanted = Object.entries(filter?.tags ?? {});
    const out: BackendObject[] = [];
    const lost: CatalogueRecord[] = [];
    for (const record of this.catalogue.all(kind)) {
      if (record.intent === "create") continue;
      if (!wanted.every(([k, v]) => record.tags[k] === v)) continue;
      const object = this.view(record, observation);
      if (object) out.push(object);
      else lost.push(record);
    }
    await this.forgetLost(lost);
    return out;
  }

  /**
   * Instances and attachments libvirt no longer has (a domain undefined or a disk detached behind
   * virtform's back) are forgotten, with what they left on the host (root and local disks, console):
   * the engine makes new ones, and the old records must not hold room, place instances or block
   * deletes. Volumes and snapshots are kept: their records say where their bytes were.
   */
  private async forgetLost(records: readonly CatalogueRecord[]): Promise<void> {
    if (this.dry) return;
    for (const record of records) {
      if (record.intent || (record.kind !== "Instance" && record.kind !== "Attachment")) continue;
      if (record.kind === "Instance") for (const a of this.attachmentsOf({ instance: record.id })) this.catalogue.remove(a.id);
      await this.undo(record);
    }
  }

  async getByToken(kind: KindName, token: string): Promise<BackendObject | null> {
    const record = this.catalogue.get(idFor(kind, token));
    if (!record || record.kind !== kind) return null;
    if (record.intent === "create") {
      // Killed before the create settled: undo what it made; the engine creates it again.
      await this.undo(record);
      return null;
    }
    return this.view(record, await this.observe());
  }

  async setTags(kind: KindName, id: string, tags: Record<string, string>): Promise<BackendObject> {
    const record = this.need(kind, id);
    record.tags = { ...tags };
    this.catalogue.put(record);
    return this.view(record, await this.observe())!;
  }

  async update(kind: KindName, id: string, rawSpec: Record<string, Value>, options: { restart: boolean }): Promise<BackendObject> {
    const record = this.need(kind, id);
    const spec = parseSpec(kind, rawSpec);
    const observation = await this.observe();
    const before = this.view(record, observation);
    if (!before) throw new LibvirtBackendError("not-found", `${kind} ${record.name} (${id}) is gone from libvirt`);
    switch (kind) {
      case "Volume":
        await this.updateVolume(record, before.spec, spec);
        break;
      case "Instance":
        await this.updateInstance(record, before.spec, spec, options.restart);
        break;
      case "Cluster":
        await this.updateCluster(record, spec);
        break;
      case "StoragePool":
        checkPoolHolds(this.catalogue, record, spec);
        break;
      case "Attachment":
        throw new LibvirtBackendError("conflict", `attachment ${record.name} cannot change; detach and attach again`);
      default:
        break;
    }
    record.spec = spec;
    this.catalogue.put(record);
    this.generation++;
    return this.view(record, await this.observe())!;
  }

  async delete(kind: KindName, id: string): Promise<void> {
    const record = this.catalogue.get(id);
    if (!record || record.kind !== kind) throw new LibvirtBackendError("not-found", `${kind} ${id} does not exist`);
    checkDelete(this.catalogue, record);
    record.intent = "delete";
    this.catalogue.put(record);
    this.generation++;
    if (!this.dry) await this.changes.unmake(record);
    if (kind === "Instance") for (const a of this.attachmentsOf({ instance: id })) this.catalogue.remove(a.id);
    this.catalogue.remove(id);
    this.generation++;
  }

  async capacity(): Promise<CapacityRow[]> {
    const rows: CapacityRow[] = [];
    const instances = this.live("Instance");
    for (const cluster of this.live("Cluster")) {
      const usable = await this.usableOf(cluster);
      const total = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
      for (const u of usable.values()) {
        total.vcpu += u.vcpu;
        total.memoryGiB += u.memoryGiB;
        total.localDiskGiB += u.localDiskGiB;
      }
      const members = instances.filter((i) => i.spec.cluster === cluster.id);
      const used = (key: "vcpu" | "memoryGiB" | "localDiskGiB") => members.reduce((sum, i) => sum + (i.spec[key] as number), 0);
      const row = (measure: string, unit: string, key: "vcpu" | "memoryGiB" | "localDiskGiB") => ({ id: cluster.id, owner: cluster.name, measure, unit, used: round(used(key)), total: round(total[key]) });
      rows.push(row("vCPU", "", "vcpu"), row("memory", "GiB", "memoryGiB"), row("local disk", "GiB", "localDiskGiB"));
    }
    for (const pool of this.live("StoragePool")) {
      rows.push({ id: pool.id, owner: pool.name, measure: "provisioned", unit: "GiB", used: round(this.allocatedGiB(pool.id)), total: round(provisionableGiB(pool)) });
    }
    return rows;
  }

  /**
   * What a volume's or snapshot's file holds (vol-info's allocation), or a running instance's local
   * disk (domblkinfo's): an upper bound, qcow2's own metadata counted, for the review's data-loss
   * findings. A volume with no host yet, or a stopped instance's local disk, holds nothing.
   */
  async writtenBytes(kind: KindName, id: string): Promise<number | undefined> {
    const record = this.catalogue.get(id);
    if (!record || record.kind !== kind || this.dry) return undefined;
    if (kind === "Volume" || kind === "Snapshot") {
      if (!record.host) return 0;
      const [info] = await this.hosts.connection(record.host).batch([["vol-info", fileNameOf(this.catalogue, id), "--pool", poolOf(this.catalogue, id), "--bytes"]]);
      return info!.ok ? parseSizes(info!.out).allocation : undefined;
    }
    if (kind === "Instance" && record.host && (record.spec.localDiskGiB as number) > 0) {
      const [state, info] = await this.hosts.connection(record.host).batch([["domstate", domainName(id)], ["domblkinfo", domainName(id), "hdb"]]);
      if (!state!.ok) return undefined;
      if (!isRunning(state!.out)) return 0; // a transient disk's writes are gone once its domain stops
      return info!.ok ? parseSizes(info!.out).allocation : undefined;
    }
    return undefined;
  }

  async rehearsal(): Promise<Backend & { dispose(): Promise<void> }> {
    // The copy starts from what libvirt holds now (a volume grown behind virtform's back is that size).
    const observation = await this.observe();
    const records = this.catalogue.all().flatMap((r) => {
      if (r.intent === "create") return [];
      const seen = this.view(r, observation);
      return seen ? [{ ...r, spec: seen.spec }] : [];
    });
    const copy = new LibvirtBackend(this.options, { catalogue: new Catalogue(undefined, records), hosts: this.hosts, dry: true });
    return Object.assign(copy, { dispose: async () => undefined });
  }

  private queue: Promise<unknown> = Promise.resolve();
  /** Volumes promised to a host by an attachment being made (before their file exists). */
  private readonly claimed = new Map<string, string>();

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- reading: observation.ts ----

  /** Every object libvirt should hold, read in one batch per host; reused until something changes. */
  private observe(): Promise<Observation> {
    const now = Date.now();
    if (this.observed && this.observed.generation === this.generation && now - this.observed.at < 2_000) return this.observed.value;
    const value = this.dry ? Promise.resolve({ volumes: new Map(), domains: new Map() }) : readObservation(this.catalogue, this.hosts, (uri) => this.factsOf(uri));
    this.observed = { at: now, generation: this.generation, value };
    value.catch(() => (this.observed = undefined));
    return value;
  }

  /** The object as virtform reports it (observation.ts). */
  private view(record: CatalogueRecord, observation: Observation): BackendObject | null {
    return viewOf(record, observation, this.catalogue, this.dry, this.cachedFacts);
  }

  /** Facts read by this process, for outputs (which are synchronous). */
  private readonly cachedFacts = new Map<string, HostFacts>();

  private async factsOf(uri: string): Promise<HostFacts> {
    const f = await this.hosts.factsOf(uri);
    this.cachedFacts.set(uri, f);
    return f;
  }

  // ---- checks and choices before anything changes ----

  private async prepare(record: CatalogueRecord): Promise<void> {
    const { spec } = record;
    switch (record.kind) {
      case "Cluster": {
        record.hosts = this.urisOf(record);
        await Promise.all(record.hosts.map((uri) => this.factsOf(uri)));
        return;
      }
      case "Volume": {
        const pool = this.need("StoragePool", String(spec.pool), `pool ${spec.pool} of volume ${record.name}`);
        checkRoom(this.catalogue, record, pool, spec.sizeGiB as number);
        record.format = spec.multiAttach ? "raw" : "qcow2";
        if (spec.source !== undefined) {
          const source = this.catalogue.get(String(spec.source));
          if (!source || (source.kind !== "Volume" && source.kind !== "Snapshot")) {
            throw new LibvirtBackendError("not-found", `source ${spec.source} of volume ${record.name} is neither a snapshot nor a volume`);
          }
          const sourcePool = source.kind === "Snapshot" ? volumePoolOf(this.catalogue, String(source.spec.volume), source) : String(source.spec.pool);
          if (sourcePool !== spec.pool) {
            throw new LibvirtBackendError("invalid", `volume ${record.name} cannot be cloned from ${source.name}: it lives in another pool (${sourcePool}); clones share blocks within one pool`);
          }
          const sourceSize = source.kind === "Snapshot" ? (source.sizeGiB ?? 0) : (source.spec.sizeGiB as number);
          if ((spec.sizeGiB as number) < sourceSize) {
            throw new LibvirtBackendError("invalid", `volume ${record.name} (${spec.sizeGiB} GiB) cannot be cloned from ${source.name}, which holds ${sourceSize} GiB: a clone is at least as large as its source`);
          }
          // A clone is an overlay backed by its source: it lives where the source does (nowhere yet: empty).
          if (source.host) record.host = source.host;
          record.format = "qcow2";
        }
        return;
      }
      case "Snapshot": {
        const volume = this.need("Volume", String(spec.volume), `volume ${spec.volume} of snapshot ${record.name}`);
        record.sizeGiB = await this.currentSizeGiB(volume);
        record.pool = String(volume.spec.pool); // its file stays in that pool after the volume goes
        if (volume.host) record.host = volume.host;
        record.format = "qcow2";
        return;
      }
      case "Instance": {
        const cluster = this.need("Cluster", String(spec.cluster), `cluster ${spec.cluster} of instance ${record.name}`);
        const image = this.need("Image", String((spec.image as { image: string }).image), `image of instance ${record.name}`);
        // The exact build it boots, when the variant is built (as the emulator records it): a later rebuild does not change it.
        const built = builtVariants(image.name.replace(/^image\./, ""), image.spec as unknown as LockedImageRequest, process.env, this.imageCache)[(spec.image as { variant: string }).variant];
        if (built?.built) record.imageDigest = built.digest;
        record.host = await this.place(cluster, record);
        return;
      }
      case "Attachment":
        this.prepareAttachment(record);
        return;
      default:
        return;
    }
  }

  private urisOf(cluster: CatalogueRecord): string[] {
    const bare = cluster.name.replace(/^cluster\./, "");
    const override = this.options.clusterHosts?.[cluster.name] ?? this.options.clusterHosts?.[bare];
    const uris = override ?? (cluster.spec.hosts as { uris?: string[] }).uris ?? this.options.defaultHosts;
    if (!uris || uris.length === 0) {
      throw new LibvirtBackendError(
        "invalid",
        `cluster ${cluster.name} names no libvirt hosts: give hosts.uris in the program, or "clusters": { "${bare}": ["qemu+ssh://..."] } in the stack's virtform.<stack>.json`,
      );
    }
    return uris;
  }

  private async usableOf(cluster: CatalogueRecord): Promise<Map<string, { vcpu: number; memoryGiB: number; localDiskGiB: number }>> {
    const usable = new Map<string, { vcpu: number; memoryGiB: number; localDiskGiB: number }>();
    for (const [i, uri] of (cluster.hosts ?? []).entries()) {
      usable.set(uri, usableCapacity({ spec: cluster.spec as never }, hostOf(await this.factsOf(uri), i)));
    }
    return usable;
  }

  /** The emulator's placement over each host's room: its size (from libvirt) less what virtform placed there. */
  private async place(cluster: CatalogueRecord, instance: CatalogueRecord): Promise<string> {
    const usable = await this.usableOf(cluster);
    const residents = this.catalogue.all("Instance").filter((i) => i.id !== instance.id && i.intent !== "delete" && i.host);
    const rooms: HostRoom[] = [...usable].map(([uri, u], index) => {
      const here = residents.filter((r) => r.host === uri);
      const free = { ...u };
      // What the host has free now bounds it too (other VMs, other programs): as the host reports it.
      const facts = this.cachedFacts.get(uri);
      if (facts) free.memoryGiB = Math.min(free.memoryGiB, facts.freeMemoryGiB * (cluster.spec.overcommit as { memory: number }).memory + residentsMemory(here));
      for (const r of here) {
        free.vcpu -= r.spec.vcpu as number;
        free.memoryGiB -= r.spec.memoryGiB as number;
        free.localDiskGiB -= r.spec.localDiskGiB as number;
      }
      const placement = (r: CatalogueRecord) => (r.spec.placement ?? {}) as { affinityGroup?: string; antiAffinityGroup?: string };
      return { id: uri, index, free, residents: here.map((r) => ({ group: String(r.spec.group), affinityGroup: placement(r).affinityGroup, antiAffinityGroup: placement(r).antiAffinityGroup })) };
    });
    const p = (instance.spec.placement ?? {}) as { policy?: "spread" | "pack"; affinityGroup?: string; antiAffinityGroup?: string; maxPerHost?: number };
    const s = instance.spec;
    const placement = placeInstance(rooms, { vcpu: s.vcpu as number, memoryGiB: s.memoryGiB as number, localDiskGiB: s.localDiskGiB as number }, {
      policy: p.policy ?? (cluster.spec.placement as "spread" | "pack"),
      group: String(s.group),
      affinityGroup: p.affinityGroup,
      antiAffinityGroup: p.antiAffinityGroup,
      maxPerHost: p.maxPerHost,
      prefer: instance.host,
    });
    if (!placement.ok) {
      throw new LibvirtBackendError(
        "capacity",
        `no host of cluster ${cluster.name} can take ${instance.name} (${s.vcpu} vCPU, ${s.memoryGiB} GiB memory, ${s.localDiskGiB} GiB local disk): ${placement.reason.replace(/qemu[^ ,;)]*/g, (u) => hostLabel(u))}`,
      );
    }
    return placement.hostId;
  }

  private prepareAttachment(record: CatalogueRecord): void {
    const { spec } = record;
    const volume = this.need("Volume", String(spec.volume), `volume of attachment ${record.name}`);
    const instance = this.need("Instance", String(spec.instance), `instance of attachment ${record.name}`);
    const existing = this.attachmentsOf({ volume: volume.id });
    if (existing.length > 0 && !volume.spec.multiAttach) {
      const other = this.catalogue.get(String(existing[0]!.spec.instance));
      throw new LibvirtBackendError("conflict", `volume ${volume.name} is not multi-attach and is already attached to ${other?.name ?? existing[0]!.spec.instance}`);
    }
    if (existing.some((a) => a.spec.instance === instance.id)) throw new LibvirtBackendError("conflict", `volume ${volume.name} is already attached to ${instance.name}`);
    // A dir pool is a directory of one host: its volumes reach that host's domains only.
    const home = volume.host ?? this.claimed.get(volume.id);
    if (home && home !== instance.host) {
      throw new LibvirtBackendError(
        "conflict",
        `volume ${volume.name} lives on host ${hostLabel(home)} (its pool is a directory there) and instance ${instance.name} runs on host ${hostLabel(instance.host ?? "")}: a volume can only be attached on its own host (place the instance with it, e.g. an affinity group)`,
      );
    }
    const taken = new Set(this.attachmentsOf({ instance: instance.id }).map((a) => a.device));
    const device = (spec.device as string | undefined) ?? DEVICES.find((d) => !taken.has(d));
    if (!device) throw new LibvirtBackendError("conflict", `instance ${instance.name} has no free device name`);
    if (taken.has(device)) throw new LibvirtBackendError("conflict", `device ${device} of instance ${instance.name} is taken`);
    record.device = device;
    record.host = instance.host!;
    // The volume's first attachment gives it its host: claimed here (attachments are prepared one
    // at a time), recorded by a rehearsal at once and by a real attach once the file exists there.
    if (!volume.host) {
      this.claimed.set(volume.id, instance.host!);
      if (this.dry) {
        volume.host = instance.host!;
        this.catalogue.put(volume);
      }
    }
  }

  // ---- changes in libvirt: host-changes.ts ----

  /** Undoes a create that did not settle: whatever it made goes, and so does its record. */
  private async undo(record: CatalogueRecord): Promise<void> {
    if (!this.dry) await this.changes.unmake(record);
    this.catalogue.remove(record.id);
    this.generation++;
  }

  private async updateVolume(record: CatalogueRecord, before: Record<string, Value>, spec: Record<string, Value>): Promise<void> {
    if (spec.pool !== before.pool) throw new LibvirtBackendError("invalid", `volume ${record.name} cannot move to another pool`);
    if (spec.source !== before.source) throw new LibvirtBackendError("invalid", `volume ${record.name} was cloned at creation; its source cannot change (create another volume)`);
    const was = before.sizeGiB as number;
    const now = spec.sizeGiB as number;
    if (now < was) throw new LibvirtBackendError("invalid", `volume ${record.name} cannot shrink from ${was} GiB to ${now} GiB: volumes only grow (shrinking would lose data)`);
    const attached = this.attachmentsOf({ volume: record.id });
    if (!spec.multiAttach && attached.length > 1) throw new LibvirtBackendError("conflict", `volume ${record.name} is attached ${attached.length} times and must stay multi-attach until detached`);
    if (spec.multiAttach && record.format === "qcow2" && record.host) {
      throw new LibvirtBackendError("invalid", `volume ${record.name} is a qcow2 image on ${hostLabel(record.host)}, which QEMU does not share read-write: it cannot become multi-attach (declare multiAttach when creating a volume)`);
    }
    checkRoom(this.catalogue, record, this.need("StoragePool", String(spec.pool)), now);
    if (now === was || !record.host || this.dry) return;
    // Grown in place: the same file, the same bytes, a larger size. A running domain using it grows it through QEMU.
    const c = this.hosts.connection(record.host);
    const bytes = `${Math.round(now * GiB)}`;
    const running = [];
    for (const a of attached) {
      const [state] = await c.batch([["domstate", domainName(String(a.spec.instance))]]);
      if (state!.ok && isRunning(state!.out)) running.push(String(a.spec.instance));
    }
    if (running.length > 0) {
      const file = (await c.run("vol-path", fileNameOf(this.catalogue, record.id), "--pool", poolOf(this.catalogue, record.id))).trim();
      await c.run("blockresize", domainName(running[0]!), file, `${bytes}B`);
    } else {
      await c.run("vol-resize", fileNameOf(this.catalogue, record.id), bytes, "--pool", poolOf(this.catalogue, record.id));
    }
  }

  private async updateInstance(record: CatalogueRecord, before: Record<string, Value>, spec: Record<string, Value>, restart: boolean): Promise<void> {
    const resized = spec.vcpu !== before.vcpu || spec.memoryGiB !== before.memoryGiB;
    // A resize stops the domain: only with the caller's leave (the plan shows it as a restart), as on the emulator.
    if (resized && !restart) {
      const fields = [...(spec.vcpu !== before.vcpu ? ["vcpu"] : []), ...(spec.memoryGiB !== before.memoryGiB ? ["memoryGiB"] : [])];
      throw new LibvirtBackendError("invalid", `changing ${fields.join(", ")} of instance ${record.name} needs a restart`);
    }
    if (resized || restart) {
      // Placed again (it stays where it is if it still fits there); moving a domain between hosts is not done yet.
      const cluster = this.need("Cluster", String(spec.cluster));
      const host = await this.place(cluster, { ...record, spec });
      if (record.host && host !== record.host) {
        throw new LibvirtBackendError("capacity", `instance ${record.name} no longer fits on host ${hostLabel(record.host)} and would move to ${hostLabel(host)}: moving a domain between libvirt hosts is not supported yet (replace it instead: --replace ${record.name})`);
      }
    }
    if (this.dry || !record.host) return;
    const c = this.hosts.connection(record.host);
    const name = domainName(record.id);
    const running = isRunning(await c.run("domstate", name));
    if ((resized || restart) && running) await c.run("destroy", name);
    if (resized) {
      const xml = await c.run("dumpxml", name, "--inactive");
      const next = xml
        .replace(/<memory unit='KiB'>\d+<\/memory>/, `<memory unit='KiB'>${Math.round((spec.memoryGiB as number) * 1024 * 1024)}</memory>`)
        .replace(/<currentMemory unit='KiB'>\d+<\/currentMemory>/, `<currentMemory unit='KiB'>${Math.round((spec.memoryGiB as number) * 1024 * 1024)}</currentMemory>`)
        .replace(/<vcpu([^>]*)>\d+<\/vcpu>/, `<vcpu$1>${spec.vcpu}</vcpu>`);
      await this.changes.define(c, next);
    }
    const stillRunning = running && !(resized || restart);
    if (spec.powerState === "running" && !stillRunning) await c.run("start", name);
    if (spec.powerState === "stopped" && stillRunning) await c.run("destroy", name);
    await c.run("metadata", name, METADATA_NS, "--key", "vf", "--set", `<object>${escapeXml(JSON.stringify(metadataOf({ ...record, spec })))}</object>`, "--config");
  }

  private async updateCluster(record: CatalogueRecord, spec: Record<string, Value>): Promise<void> {
    const hosts = this.urisOf({ ...record, spec });
    const removed = (record.hosts ?? []).filter((h) => !hosts.includes(h));
    for (const uri of removed) {
      const residents = this.live("Instance").filter((i) => i.spec.cluster === record.id && i.host === uri);
      if (residents.length > 0) throw new LibvirtBackendError("conflict", `cannot remove host ${hostLabel(uri)} of cluster ${record.name}: it runs ${residents.map((i) => i.name).join(", ")}`);
    }
    await Promise.all(hosts.map((uri) => this.factsOf(uri)));
    record.hosts = hosts;
  }

  // ---- small helpers ----

  private live(kind: KindName): CatalogueRecord[] {
    return live(this.catalogue, kind);
  }

  private attachmentsOf(by: { volume?: string; instance?: string }): CatalogueRecord[] {
    return attachmentsOf(this.catalogue, by);
  }

  private allocatedGiB(poolId: string, except?: string): number {
    return allocatedGiB(this.catalogue, poolId, except);
  }

  private need(kind: KindName, id: string, what?: string): CatalogueRecord {
    const record = this.catalogue.get(id);
    if (!record || record.kind !== kind || record.intent === "create") throw new LibvirtBackendError("not-found", `${what ?? `${kind} ${id}`} does not exist`);
    return record;
  }

  private async currentSizeGiB(volume: CatalogueRecord): Promise<number> {
    if (!volume.host || this.dry) return volume.spec.sizeGiB as number;
    const seen = (await this.observe()).volumes.get(volume.id);
    return seen ? seen.capacity / GiB : (volume.spec.sizeGiB as number);
  }

}

function parseSpec(kind: KindName, spec: Record<string, Value>): Record<string, Value> {
  const parsed = kinds[kind].inputs.safeParse(spec);
  if (!parsed.success) throw new LibvirtBackendError("invalid", `invalid ${kind} spec: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data as Record<string, Value>;
}

function residentsMemory(residents: CatalogueRecord[]): number {
  return residents.reduce((sum, r) => sum + (r.spec.memoryGiB as number), 0);
}

