// What virsh prints, typed: node info and memory, volume info, name lists, domain state and the
// parts of a domain's XML the backend reads back (its virtform metadata and its disks). Pure.

export interface NodeInfo {
  cpus: number;
  memoryKiB: number;
}

export function parseNodeInfo(text: string): NodeInfo {
  const cpus = field(text, "CPU\\(s\\)");
  const memory = /Memory size:\s+(\d+)\s*KiB/.exec(text)?.[1];
  if (cpus === undefined || memory === undefined) throw new Error(`unexpected nodeinfo output: ${text.slice(0, 200)}`);
  return { cpus: Number(cpus), memoryKiB: Number(memory) };
}

/** `nodememstats`: KiB by name (total, free, buffers, cached). */
export function parseMemStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\s*(\w+)\s*:\s*(\d+)\s*KiB/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** `vol-info --bytes` and `pool-info --bytes`: capacity, allocation and (pools) available, in bytes. */
export function parseSizes(text: string): { capacity?: number; allocation?: number; available?: number } {
  const get = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)(\\s*bytes)?\\s*$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const sizes: { capacity?: number; allocation?: number; available?: number } = {};
  const capacity = get("Capacity");
  const allocation = get("Allocation");
  const available = get("Available");
  if (capacity !== undefined) sizes.capacity = capacity;
  if (allocation !== undefined) sizes.allocation = allocation;
  if (available !== undefined) sizes.available = available;
  return sizes;
}

/** `list --name`, `pool-list --name`: one name a line. */
export function parseNames(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** `domstate`: running (or paused, which still holds the VM) or not. */
export function isRunning(domstate: string): boolean {
  return /^(running|paused|in shutdown|pmsuspended)/.test(domstate.trim());
}

export interface DomainDisk {
  dev: string;
  file: string | undefined;
  alias: string | undefined;
  readonly: boolean;
  shareable: boolean;
}

/** The disks of a domain's XML. */
export function parseDisks(xml: string): DomainDisk[] {
  const disks: DomainDisk[] = [];
  for (const m of xml.matchAll(/<disk\b[\s\S]*?<\/disk>/g)) {
    const block = m[0];
    // The disk's own source, not a backing store's (those come after <backingStore).
    const own = block.split(/<backingStore\b/)[0]!;
    disks.push({
      dev: /<target dev='([^']+)'/.exec(block)?.[1] ?? "",
      file: /<source file='([^']+)'/.exec(own)?.[1],
      alias: /<alias name='([^']+)'/.exec(block)?.[1],
      readonly: /<readonly\/>/.test(block),
      shareable: /<shareable\/>/.test(block),
    });
  }
  return disks;
}

/** The JSON virtform keeps in the domain's <metadata>. */
export function parseMetadata(xml: string): unknown {
  const m = /<vf:object[^>]*>([\s\S]*?)<\/vf:object>/.exec(xml);
  if (!m) return undefined;
  try {
    return JSON.parse(unescapeXml(m[1]!));
  } catch {
    return undefined;
  }
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}

export function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(text)?.[1];
}
