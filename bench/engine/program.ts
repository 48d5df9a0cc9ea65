// The generated programs of the engine benchmark: N resources shaped like real programs, made of
// virtform's own kinds.
//
//   shared      one storage pool per 250 resources ("a pool per team"; volumes never share a pool
//               across teams), so volume placement work stays that of a real program
//   chains      half of N: chains of 5 volumes, each a copy-on-write clone of the previous one
//               (`source: prev`, a reference to the previous volume's id output)
//   fan-out     a quarter of N: groups of 5, a root volume and 4 snapshots of it (each references
//               the root's id)
//   independent a quarter of N: one-host clusters, referencing nothing
//
// The 1 % edit grows the size of N/100 volumes (chain heads and fan-out roots, alternating): an
// in-place update each.
export interface Shape {
  n: number;
  /** Grow this many volumes (the 1 % edit). */
  edits?: number;
}

export function programSource({ n, edits = 0 }: Shape): string {
  const chains = Math.floor(n / 2 / 5);
  const fans = Math.floor(n / 4 / 5);
  const pools = Math.max(1, Math.ceil(n / 250));
  const independent = n - chains * 5 - fans * 5 - pools; // the pools count towards N
  // Volumes that grow: chain heads and fan-out roots, alternating.
  const grow = new Set<string>();
  for (let i = 0; grow.size < edits && i < Math.max(chains, fans); i++) {
    if (i < chains && grow.size < edits) grow.add(`c${i}`);
    if (i < fans && grow.size < edits) grow.add(`f${i}`);
  }
  return `import { stack } from "virtform";

export default stack("bench", (s) => {
  const pools = Array.from({ length: ${pools} }, (_, i) =>
    s.storagePool(\`p\${i}\`, { media: "ssd", devices: [{ sizeGiB: 1024 }], overcommit: 20 }),
  );
  const pool = (i: number) => pools[i % pools.length]!;
  const grown = new Set(${JSON.stringify([...grow])});
  const size = (name: string) => (grown.has(name) ? 2 : 1);
  for (let i = 0; i < ${chains}; i++) {
    const p = pool(i);
    let previous = p.volume(\`c\${i}\`, { sizeGiB: size(\`c\${i}\`) });
    for (let d = 1; d < 5; d++) previous = p.volume(\`c\${i}-\${d}\`, { sizeGiB: 2, source: previous });
  }
  for (let i = 0; i < ${fans}; i++) {
    const root = pool(i + 1).volume(\`f\${i}\`, { sizeGiB: size(\`f\${i}\`) });
    for (let k = 1; k < 5; k++) root.snapshot(\`f\${i}-\${k}\`);
  }
  for (let i = 0; i < ${independent}; i++) {
    s.cluster(\`k\${i}\`, { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  }
});
`;
}
