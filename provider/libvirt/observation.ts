// What libvirt says of the objects virtform keeps in its catalogue, and the objects as virtform
// reports them (refresh and drift): one batch of virsh commands per host reads every volume's size,
// which domains exist and run, and the disks of domains with attachments; view overrides a record's
// spec with that (a volume grown behind virtform's back is that size; a domain gone is an object gone).
import { usableCapacity } from "../../emulator/compute/hypervisors.ts";
import { imageRegistration } from "../../emulator/image-registry.ts";
import type { Value } from "../../core/model.ts";
import type { BackendObject } from "../backend.ts";
import type { Catalogue, CatalogueRecord } from "./catalogue.ts";
import type { HostFacts, LibvirtHosts } from "./hosts.ts";
import { aliasOf, domainName, fileNameOf, poolOf, volumePoolOf } from "./names.ts";
import { parseDisks, parseSizes, type DomainDisk } from "./parse.ts";
import { LibvirtBackendError, live } from "./rules.ts";
import { hostLabel, type VirshResult } from "./virsh.ts";

const GiB = 1024 ** 3;

/** What libvirt says of the objects it holds, read in one batch per host. */
export interface Observation {
  volumes: Map<string, { capacity: number } | null>;
  domains: Map<string, { running: boolean; disks: DomainDisk[] } | null>;
}

export async function readObservation(catalogue: Catalogue, hosts: LibvirtHosts, factsOf: (uri: string) => Promise<HostFacts>): Promise<Observation> {
  const byHost = new Map<string, { volumes: string[]; domains: string[] }>();
  const at = (uri: string) => {
    let h = byHost.get(uri);
    if (!h) byHost.set(uri, (h = { volumes: [], domains: [] }));
    return h;
  };
  for (const r of catalogue.all()) {
    if (!r.host) continue;
    if (r.kind === "Volume" || r.kind === "Snapshot") at(r.host).volumes.push(r.id);
    if (r.kind === "Instance") at(r.host).domains.push(r.id);
  }
  const observation: Observation = { volumes: new Map(), domains: new Map() };
  // Each cluster host's size too (once per process): clusters' outputs are computed from it. Read
  // first, on the shell the batch then reuses (a second shell at once would be a second ssh session).
  const attached = new Set(catalogue.all("Attachment").map((a) => String(a.spec.instance)));
  const clusterHosts = new Set(live(catalogue, "Cluster").flatMap((c) => c.hosts ?? []));
  await Promise.all([...clusterHosts].map((uri) => factsOf(uri)));
  await Promise.all(
    [...byHost].map(async ([uri, wanted]) => {
      // Which domains exist and which run: two lists for the host, not a command per domain. Only a
      // domain with attachments is read whole (its disks say whether each attachment is there).
      const withDisks = wanted.domains.filter((id) => attached.has(id));
      const commands: string[][] = [["list", "--all", "--name"], ["list", "--name"]];
      for (const id of wanted.volumes) commands.push(["vol-info", fileNameOf(catalogue, id), "--pool", poolOf(catalogue, id), "--bytes"]);
      for (const id of withDisks) commands.push(["dumpxml", domainName(id), "--inactive"]);
      const results = await hosts.connection(uri).batch(commands);
      const [all, active] = results.splice(0, 2).map((r) => (r!.ok ? new Set(r!.out.split("\n").map((l) => l.trim())) : gone(r!, uri, true)));
      let i = 0;
      for (const id of wanted.volumes) {
        const r = results[i++]!;
        observation.volumes.set(id, r.ok ? { capacity: parseSizes(r.out).capacity ?? 0 } : gone(r, uri));
      }
      const disks = new Map<string, DomainDisk[] | null>();
      for (const id of withDisks) {
        const xml = results[i++]!;
        disks.set(id, xml.ok ? parseDisks(xml.out) : gone(xml, uri));
      }
      for (const id of wanted.domains) {
        const name = domainName(id);
        const own = disks.get(id);
        observation.domains.set(id, all!.has(name) && own !== null ? { running: active!.has(name), disks: own ?? [] } : null);
      }
    }),
  );
  return observation;
}

/** The object as virtform reports it: the record, with what libvirt says overriding it; null when libvirt lost it. A rehearsal (`dry`) reads nothing from libvirt. */
export function viewOf(record: CatalogueRecord, observation: Observation, catalogue: Catalogue, dry: boolean, facts: ReadonlyMap<string, HostFacts>): BackendObject | null {
  const spec = { ...record.spec };
  const base = { id: record.id, name: record.name, tags: { ...record.tags } };
  switch (record.kind) {
    case "Volume":
    case "Snapshot": {
      if (record.host && !dry) {
        const seen = observation.volumes.get(record.id);
        if (seen === null) return null;
        if (seen && record.kind === "Volume") spec.sizeGiB = seen.capacity / GiB;
      }
      const outputs: Record<string, Value> = record.kind === "Snapshot" ? { pool: volumePoolOf(catalogue, String(spec.volume), record), sizeGiB: record.sizeGiB ?? 0 } : {};
      return { ...base, spec, outputs };
    }
    case "Instance": {
      let state = spec.powerState as string;
      if (!dry) {
        const seen = observation.domains.get(record.id);
        if (seen === null) return null;
        if (seen) state = seen.running ? "running" : "stopped";
      }
      spec.powerState = state;
      return { ...base, spec, outputs: { host: hostLabel(record.host ?? ""), state, ...(record.imageDigest ? { imageDigest: record.imageDigest } : {}) } };
    }
    case "Attachment": {
      if (!dry) {
        const instance = catalogue.get(String(spec.instance));
        const seen = instance ? observation.domains.get(instance.id) : null;
        if (seen === null) return null;
        if (seen && !seen.disks.some((d) => d.alias === aliasOf(record.id))) return null;
      }
      return { ...base, spec, outputs: { device: record.device ?? "" } };
    }
    case "Cluster":
      return { ...base, spec, outputs: clusterOutputs(record, facts) };
    case "StoragePool": {
      const capacityGiB = (spec.devices as { sizeGiB: number }[]).reduce((s, d) => s + d.sizeGiB, 0);
      return { ...base, spec, outputs: { capacityGiB, provisionableGiB: capacityGiB * (spec.overcommit as number), luns: (spec.devices as unknown[]).length } };
    }
    case "Image":
      return { ...base, spec, outputs: imageOutputs(spec) };
  }
}

/** A cluster's usable and reserved room, from the facts of its hosts read by this process (outputs are synchronous). */
function clusterOutputs(record: CatalogueRecord, known: ReadonlyMap<string, HostFacts>): Record<string, Value> {
  const facts = record.hosts?.map((uri) => known.get(uri)).filter((f): f is HostFacts => !!f) ?? [];
  const usable = { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
  for (const [i, f] of facts.entries()) {
    const u = usableCapacity({ spec: record.spec as never }, hostOf(f, i));
    usable.vcpu += u.vcpu;
    usable.memoryGiB += u.memoryGiB;
    usable.localDiskGiB += u.localDiskGiB;
  }
  const first = facts[0];
  const reserved = first ? reservationOf(record, first) : { vcpu: 0, memoryGiB: 0, localDiskGiB: 0 };
  return {
    hostIds: (record.hosts ?? []).map(hostLabel),
    reservedPerHost: { vcpu: round(reserved.vcpu), memoryGiB: round(reserved.memoryGiB), localDiskGiB: round(reserved.localDiskGiB) },
    usable: { vcpu: round(usable.vcpu), memoryGiB: round(usable.memoryGiB), localDiskGiB: round(usable.localDiskGiB) },
  };
}

/** Null for an object libvirt does not have; any other failure is an error (`always`: every failure is). */
function gone(result: VirshResult, uri: string, always = false): null {
  if (!always && !result.ok && /not found|failed to get|no storage|no domain/i.test(result.error)) return null;
  throw new LibvirtBackendError("libvirt", `libvirt at ${hostLabel(uri)}: ${result.ok ? "unexpected output" : result.error}`);
}

/** A host as the emulator's capacity rules see it. */
export function hostOf(f: HostFacts, index: number) {
  return { id: f.uri, index, vcpu: f.cpus, memoryGiB: f.memoryGiB, localDiskGiB: f.localDiskGiB };
}

function reservationOf(cluster: CatalogueRecord, f: HostFacts) {
  const host = hostOf(f, 0);
  const u = usableCapacity({ spec: { ...(cluster.spec as never as object), overcommit: { cpu: 1, memory: 1 } } as never }, host);
  return { vcpu: host.vcpu - u.vcpu, memoryGiB: host.memoryGiB - u.memoryGiB, localDiskGiB: host.localDiskGiB - u.localDiskGiB };
}

function imageOutputs(spec: Record<string, Value>): Record<string, Value> {
  const r = imageRegistration(spec as never);
  return {
    variants: Object.fromEntries(Object.entries(r.variants).map(([name, v]) => [name, { digest: v.digest, packages: v.packages, layers: v.layers ?? [], sizeBytes: v.sizeBytes ?? 0 }])),
    layers: r.layers ?? {},
    sharedBytes: r.sharedBytes ?? 0,
  } as Record<string, Value>;
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
