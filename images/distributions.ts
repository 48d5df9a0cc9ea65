// The distribution releases an image's `base` can name. A base is a release whose essential and
// required packages (Essential: yes / Priority: required in the catalog) are every variant's first
// layer; the catalog an image resolves against must be that release's.
export const DISTRIBUTIONS = {
  "debian-12": { title: "Debian 12 (bookworm)", codename: "bookworm" },
} as const;

export type BaseName = keyof typeof DISTRIBUTIONS;

export const BASE_NAMES = Object.keys(DISTRIBUTIONS) as [BaseName, ...BaseName[]];
