// What a variant's declaration puts into its image besides packages: its config as an environment
// file (/etc/virtform/variant.env), tomcat's JAVA_OPTS from heapMiB when tomcat10 is installed, and
// a oneshot unit that announces the variant and its digest on the console at boot (the boot test
// waits for it). Pure: the same variant gives byte-identical files, so they can enter layer digests.

export interface RenderedFile {
  /** Absolute path inside the image. */
  path: string;
  mode: number;
  content?: string;
  /** A symbolic link to this target instead of a file. */
  symlink?: string;
}

export interface RenderInput {
  image: string;
  variant: string;
  digest: string;
  config: Record<string, string | number | boolean>;
  /** Package names in the variant's locked set. */
  packages: readonly string[];
}

export const MARKER_UNIT = "virtform-ready.service";
export const MARKER_PREFIX = "virtform-ready";

/** "heapMiB" -> "HEAP_MIB", "threadPool" and "thread.pool" -> "THREAD_POOL". */
export function envName(key: string): string {
  return key
    // A word starts at a capital after two lower-case letters, so a unit like "MiB" stays one word.
    .replace(/(?<=(?:^|[a-z0-9])[a-z0-9])(?=[A-Z])/g, "_")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** A value safe inside single quotes in a shell-sourced file. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The marker line the boot test waits for. */
export function markerLine(image: string, variant: string, digest: string): string {
  return `${MARKER_PREFIX} image=${image} variant=${variant} digest=${digest}`;
}

export function renderVariantFiles(input: RenderInput): RenderedFile[] {
  const keys = Object.keys(input.config).sort();
  const seen = new Map<string, string>();
  for (const key of keys) {
    const name = envName(key);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`config keys ${other} and ${key} both render as ${name} in /etc/virtform/variant.env; rename one`);
    seen.set(name, key);
  }
  const env = [
    "# Written by virtform images build: this variant's config.",
    `VIRTFORM_IMAGE=${shellQuote(input.image)}`,
    `VIRTFORM_VARIANT=${shellQuote(input.variant)}`,
    `VIRTFORM_DIGEST=${shellQuote(input.digest)}`,
    ...keys.map((k) => `${envName(k)}=${shellQuote(String(input.config[k]))}`),
  ];
  const files: RenderedFile[] = [{ path: "/etc/virtform/variant.env", mode: 0o644, content: env.join("\n") + "\n" }];
  const heap = input.config.heapMiB;
  if (input.packages.includes("tomcat10") && typeof heap === "number") {
    // Debian's tomcat10 unit reads JAVA_OPTS from here; the packaged default is only the headless flag.
    files.push({
      path: "/etc/default/tomcat10",
      mode: 0o644,
      content: ["# Written by virtform images build from the variant's config (heapMiB).", `JAVA_OPTS="-Djava.awt.headless=true -Xms${heap}m -Xmx${heap}m"`, ""].join("\n"),
    });
  }
  if (input.packages.includes("systemd")) {
    files.push(
      {
        path: `/etc/systemd/system/${MARKER_UNIT}`,
        mode: 0o644,
        content: [
          "[Unit]",
          "Description=virtform: announce the image variant",
          "",
          "[Service]",
          "Type=oneshot",
          `ExecStart=/bin/echo ${markerLine(input.image, input.variant, input.digest)}`,
          "StandardOutput=journal+console",
          "",
          "[Install]",
          "WantedBy=multi-user.target",
          "",
        ].join("\n"),
      },
      { path: `/etc/systemd/system/multi-user.target.wants/${MARKER_UNIT}`, mode: 0o777, symlink: `/etc/systemd/system/${MARKER_UNIT}` },
    );
  }
  return files;
}
