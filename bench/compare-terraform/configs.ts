// The engine benchmark's graph (bench/engine/program.ts) as Terraform configurations: with
// Terraform's built-in terraform_data (Terraform's own cost, no provider) and with virtform's
// provider (the same objects as the native program, on the embedded emulator).
//
//   pools        one per 250 resources
//   chains       half of N: chains of 5 volumes, each a clone of the previous one
//   fan-out      a quarter of N: a root volume and 4 snapshots of it
//   independent  the rest: one-host clusters
// The 1 % edit grows N/100 volumes (chain heads and fan-out roots, alternating), in place.
export interface GraphShape {
  n: number;
  edits?: number;
}

interface Counts {
  pools: number;
  chains: number;
  fans: number;
  independent: number;
  grown: Set<string>;
}

export function counts({ n, edits = 0 }: GraphShape): Counts {
  const chains = Math.floor(n / 2 / 5);
  const fans = Math.floor(n / 4 / 5);
  const pools = Math.max(1, Math.ceil(n / 250));
  const independent = n - chains * 5 - fans * 5 - pools;
  const grown = new Set<string>();
  for (let i = 0; grown.size < edits && i < Math.max(chains, fans); i++) {
    if (i < chains && grown.size < edits) grown.add(`c${i}`);
    if (i < fans && grown.size < edits) grown.add(`f${i}`);
  }
  return { pools, chains, fans, independent, grown };
}

export function virtformConfig(shape: GraphShape): string {
  const { pools, chains, fans, independent, grown } = counts(shape);
  const size = (name: string) => (grown.has(name) ? 2 : 1);
  const out: string[] = ['terraform {\n  required_providers {\n    virtform = { source = "virtform/virtform" }\n  }\n}\n'];
  for (let i = 0; i < pools; i++) {
    out.push(`resource "virtform_storage_pool" "p${i}" {\n  media      = "ssd"\n  devices    = [{ size_gib = 1024 }]\n  overcommit = 20\n}\n`);
  }
  const pool = (i: number) => `virtform_storage_pool.p${i % pools}.id`;
  for (let i = 0; i < chains; i++) {
    out.push(`resource "virtform_volume" "c${i}" {\n  pool     = ${pool(i)}\n  size_gib = ${size(`c${i}`)}\n}\n`);
    for (let d = 1; d < 5; d++) {
      const previous = d === 1 ? `c${i}` : `c${i}_${d - 1}`;
      out.push(`resource "virtform_volume" "c${i}_${d}" {\n  pool     = ${pool(i)}\n  size_gib = 2\n  source   = virtform_volume.${previous}.id\n}\n`);
    }
  }
  for (let i = 0; i < fans; i++) {
    out.push(`resource "virtform_volume" "f${i}" {\n  pool     = ${pool(i + 1)}\n  size_gib = ${size(`f${i}`)}\n}\n`);
    for (let k = 1; k < 5; k++) out.push(`resource "virtform_snapshot" "f${i}_${k}" {\n  volume = virtform_volume.f${i}.id\n}\n`);
  }
  for (let i = 0; i < independent; i++) {
    out.push(`resource "virtform_cluster" "k${i}" {\n  hypervisor = "native"\n  hosts      = { count = 1, vcpu = 8, memory_gib = 32, local_disk_gib = 0 }\n}\n`);
  }
  return out.join("\n");
}

/**
 * The graph with terraform_data; with type "floor_data", the same with the bench's floor provider
 * (floor-provider.ts), whose resource has terraform_data's schema.
 */
export function terraformDataConfig(shape: GraphShape, type: "terraform_data" | "floor_data" = "terraform_data"): string {
  const { pools, chains, fans, independent, grown } = counts(shape);
  const size = (name: string) => (grown.has(name) ? 2 : 1);
  const data = (name: string, input: string) => `resource "${type}" "${name}" {\n  input = { ${input} }\n}\n`;
  const out: string[] = type === "floor_data" ? ['terraform {\n  required_providers {\n    floor = { source = "virtform/floor" }\n  }\n}\n'] : [];
  for (let i = 0; i < pools; i++) out.push(data(`p${i}`, 'media = "ssd", size_gib = 1024, overcommit = 20'));
  const pool = (i: number) => `${type}.p${i % pools}.id`;
  for (let i = 0; i < chains; i++) {
    out.push(data(`c${i}`, `pool = ${pool(i)}, size_gib = ${size(`c${i}`)}`));
    for (let d = 1; d < 5; d++) {
      const previous = d === 1 ? `c${i}` : `c${i}_${d - 1}`;
      out.push(data(`c${i}_${d}`, `pool = ${pool(i)}, size_gib = 2, source = ${type}.${previous}.id`));
    }
  }
  for (let i = 0; i < fans; i++) {
    out.push(data(`f${i}`, `pool = ${pool(i + 1)}, size_gib = ${size(`f${i}`)}`));
    for (let k = 1; k < 5; k++) out.push(data(`f${i}_${k}`, `volume = ${type}.f${i}.id`));
  }
  for (let i = 0; i < independent; i++) out.push(data(`k${i}`, 'hypervisor = "native", hosts = { count = 1, vcpu = 8, memory_gib = 32 }'));
  return out.join("\n");
}
