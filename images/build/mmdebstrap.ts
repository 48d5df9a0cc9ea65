// A root file system with exactly a locked package set, made by mmdebstrap from the Debian mirror
// the host's apt uses (the catalog the lock was resolved against). Every package is named with its
// locked version, so apt has nothing to choose; recommends are off, as in the lock's resolution.
import { runTool } from "./tools.ts";

export const HOST_SOURCES = "/etc/apt/sources.list.d/debian.sources";

export interface MmdebstrapInput {
  suite: string;
  /** "name=version" */
  packages: readonly string[];
  target: string;
  /** A sources.list or deb822 .sources file naming the mirror. */
  sources: string;
  /** Downloaded .deb files kept between builds (apt checks each against the mirror's hashes). */
  debCache?: string;
}

export function mmdebstrapArgs(input: MmdebstrapInput): string[] {
  return [
    "--variant=essential",
    "--mode=root",
    "--format=directory",
    "--aptopt=APT::Install-Recommends \"false\"",
    "--aptopt=APT::Install-Suggests \"false\"",
    // The host's resolver and name would make the image differ from host to host.
    `--customize-hook=rm -f "$1"/etc/resolv.conf "$1"/etc/hostname`,
    ...(input.debCache === undefined
      ? []
      : [
          `--setup-hook=mkdir -p "$1"/var/cache/apt/archives`,
          `--setup-hook=sync-in ${input.debCache} /var/cache/apt/archives/`,
          `--customize-hook=sync-out /var/cache/apt/archives ${input.debCache}`,
        ]),
    ...(input.packages.length > 0 ? [`--include=${[...input.packages].sort().join(",")}`] : []),
    input.suite,
    input.target,
    input.sources,
  ];
}

/** Runs mmdebstrap; rejects with its last lines of output when it fails, led by what the lock has to do with it. */
export async function runMmdebstrap(input: MmdebstrapInput, sourceDateEpoch: number): Promise<void> {
  try {
    await runTool("mmdebstrap", mmdebstrapArgs(input), { SOURCE_DATE_EPOCH: String(sourceDateEpoch) });
  } catch (err) {
    const message = (err as Error).message;
    const why = explainFailure(message);
    throw new Error(why === undefined ? message : `${why}\n${message}`);
  }
}

/** apt's "Version '9.9' for 'hello' was not found" as what it means for a lock; undefined for other failures. */
export function explainFailure(output: string): string | undefined {
  const missing = [...output.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)].map((m) => `${m[2]} ${m[1]}`);
  if (missing.length === 0) return undefined;
  return `the mirror does not serve ${[...new Set(missing)].join(", ")}, which the lock names; run 'virtform images lock --update' to lock what it serves`;
}
