// The engine benchmark's graph (bench/engine/program.ts: pools, chains of 5 clone volumes, fan-outs
// of a root volume and 4 snapshots, one-host clusters) as a Pulumi program on virtform/pulumi.
export function pulumiProgramSource(n: number): string {
  const chains = Math.floor(n / 2 / 5);
  const fans = Math.floor(n / 4 / 5);
  const pools = Math.max(1, Math.ceil(n / 250));
  const independent = n - chains * 5 - fans * 5 - pools;
  return `import * as virtform from "virtform/pulumi";

const pools = Array.from({ length: ${pools} }, (_, i) =>
  new virtform.storage.StoragePool(\`p\${i}\`, { media: "ssd", devices: [{ sizeGiB: 1024 }], overcommit: 20 }),
);
const pool = (i: number) => pools[i % pools.length]!;
for (let i = 0; i < ${chains}; i++) {
  let previous = new virtform.storage.Volume(\`c\${i}\`, { pool: pool(i).id, sizeGiB: 1 });
  for (let d = 1; d < 5; d++) previous = new virtform.storage.Volume(\`c\${i}-\${d}\`, { pool: pool(i).id, sizeGiB: 2, source: previous.id });
}
for (let i = 0; i < ${fans}; i++) {
  const root = new virtform.storage.Volume(\`f\${i}\`, { pool: pool(i + 1).id, sizeGiB: 1 });
  for (let k = 1; k < 5; k++) new virtform.storage.Snapshot(\`f\${i}-\${k}\`, { volume: root.id });
}
for (let i = 0; i < ${independent}; i++) {
  new virtform.compute.Cluster(\`k\${i}\`, { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
}
`;
}
