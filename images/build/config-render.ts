// What a variant's declaration puts into its image besides packages: its config as an environment
// file (/etc/virtform/variant.env), tomcat's JAVA_OPTS from heapMiB and its HTTP connector's
// maxThreads from threadPool when tomcat10 is installed, a
// oneshot unit that announces the variant and its digest on the console at boot (the boot test
// waits for it), and what the image declares: files (templates filled from the config), unit files,
// users' authorized_keys and cloud-init's NoCloud seed. Users to create and units to enable are the
// layer's setup, carried out by the image's own useradd and systemctl. Pure: the same variant gives
// byte-identical files and setup, so they can enter layer digests.
import { renderTemplate, type VariantContents } from "../contents.ts";
import type { XmlAttributeEdit } from "./xml-edit.ts";

export interface RenderedFile {
  /** Absolute path inside the image. */
  path: string;
  mode: number;
  content?: string;
  /** A symbolic link to this target instead of a file. */
  symlink?: string;
  /** An edit of the file the image's packages installed there (its mode and owner kept) instead of new content. */
  edit?: XmlAttributeEdit;
  /** "user" or "user:group" of the image; root when absent. */
  owner?: string;
}

/** What a layer does besides writing files, in this order: create users, then enable and disable units. */
export interface LayerSetup {
  users: { name: string; groups: string[]; shell: string }[];
  enable: string[];
  disable: string[];
}

export const NO_SETUP: LayerSetup = { users: [], enable: [], disable: [] };

export const NOCLOUD_SEED = "/var/lib/cloud/seed/nocloud";

export interface RenderInput {
  image: string;
  variant: string;
  digest: string;
  config: Record<string, string | number | boolean>;
  /** Package names in the variant's locked set. */
  packages: readonly string[];
  /** Files, units, users and cloud-init the image declares. */
  contents?: VariantContents;
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
  const threads = input.config.threadPool;
  if (input.packages.includes("tomcat10") && typeof threads === "number") {
    // The packaged server.xml (ucf's conffile) with its HTTP connector's request threads set; the rest stays as packaged.
    files.push({
      path: "/etc/tomcat10/server.xml",
      mode: 0o640,
      edit: { element: "Connector", where: { port: "8080" }, set: { maxThreads: String(threads) } },
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
  return withDeclared(files, declaredFiles(input));
}

/** The files the image declares (files, unit files, authorized_keys, the cloud-init seed), sorted by path. */
function declaredFiles(input: RenderInput): RenderedFile[] {
  const c = input.contents;
  if (c === undefined) return [];
  const text = (f: { content?: string | undefined; template?: string | undefined }, where: string) => {
    if (f.template === undefined) return f.content ?? "";
    try {
      return renderTemplate(f.template, input.config);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  };
  const out: RenderedFile[] = [];
  for (const [path, f] of Object.entries(c.files)) out.push({ path, mode: parseInt(f.mode, 8), content: text(f, `files.${path}`), owner: f.owner });
  for (const [name, u] of Object.entries(c.units)) {
    if (u.content !== undefined || u.template !== undefined) out.push({ path: `/etc/systemd/system/${name}`, mode: 0o644, content: text(u, `units.${name}`) });
  }
  for (const [name, user] of Object.entries(c.users)) {
    // sshd refuses keys others may write: the file is the user's, 0600 (the setup makes ~/.ssh 0700).
    if (user.sshKeys.length > 0) out.push({ path: `/home/${name}/.ssh/authorized_keys`, mode: 0o600, content: user.sshKeys.join("\n") + "\n", owner: `${name}:${name}` });
  }
  if (c.cloudInit !== undefined) {
    // user-data may hold credentials: root only. The instance-id names the variant; each VM runs it on its own first boot.
    out.push(
      { path: `${NOCLOUD_SEED}/meta-data`, mode: 0o644, content: `instance-id: iid-${input.image}-${input.variant}\n` },
      { path: `${NOCLOUD_SEED}/user-data`, mode: 0o600, content: c.cloudInit.userData },
    );
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The generated files with the declared ones added; a declared file replaces a generated one at its path (/etc/default/tomcat10, say). */
function withDeclared(generated: RenderedFile[], declared: RenderedFile[]): RenderedFile[] {
  const seen = new Set<string>();
  for (const f of declared) {
    if (seen.has(f.path)) throw new Error(`${f.path} is declared twice (as a file and as a unit, a user's keys or cloud-init's seed); declare it once`);
    seen.add(f.path);
  }
  return [...generated.filter((f) => !seen.has(f.path)), ...declared];
}

/** Users to create and units to enable or disable, sorted so the same declaration gives the same layer. */
export function renderSetup(contents: VariantContents | undefined): LayerSetup {
  if (contents === undefined) return NO_SETUP;
  const units = Object.entries(contents.units);
  return {
    users: Object.entries(contents.users).map(([name, u]) => ({ name, groups: [...u.groups].sort(), shell: u.shell })),
    enable: units.filter(([, u]) => u.enabled).map(([n]) => n),
    disable: units.filter(([, u]) => !u.enabled).map(([n]) => n),
  };
}

/** What a variant's declared contents need in its locked set: [field path, message] per problem. */
export function contentsProblems(contents: VariantContents | undefined, packages: readonly string[]): [string, string][] {
  if (contents === undefined) return [];
  const out: [string, string][] = [];
  if (Object.keys(contents.units).length > 0 && !packages.includes("systemd")) out.push(["units", "units need systemd in the variant's packages (add systemd or systemd-sysv)"]);
  if (contents.cloudInit !== undefined && !packages.includes("cloud-init")) out.push(["cloudInit", "cloudInit needs the cloud-init package in the variant's packages"]);
  if (Object.keys(contents.users).length > 0 && !packages.includes("passwd")) out.push(["users", "users need the passwd package (useradd) in the variant's set"]);
  return out;
}
