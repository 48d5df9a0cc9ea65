// Figures the emulator derives by arithmetic (a pool's capacity x overcommit, a host less its
// hypervisor's reservation) are reported as a person reads them: 259.2, not 259.20000000000005.
// Placement and quota checks keep using the exact values; only what is shown is rounded.

/** To a hundredth: for GiB, about 10 MiB, finer than any figure anyone sizes by. */
export function readable(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Every number of a flat record, made readable. */
export function readableAll<T extends Record<string, number>>(figures: T): T {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, readable(v)])) as T;
}
