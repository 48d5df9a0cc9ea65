// What an image declares besides packages and config: files, systemd units, users and cloud-init
// user-data. The image declares them for every variant; a variant's entry for the same path, unit
// or user replaces the image's (as its config keys do). Templates read the variant's config with
// {{key}} placeholders, so a heavy and a light variant render one file differently.
import { z } from "zod";

/** An absolute path inside the image, normalised: no "..", ".", empty segments or trailing slash. */
export const imagePath = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith("/"), "expected an absolute path inside the image, like /etc/app.conf")
  .refine((p) => p.length > 1 && p.split("/").slice(1).every((s) => s !== "" && s !== "." && s !== ".."), 'a path may not hold "..", "." or empty segments, nor end with "/"')
  .refine((p) => !/[\0\n\r]/.test(p), "a path may not hold NUL or line breaks")
  .describe("An absolute path inside the image");

const TEMPLATE_HELP = "text whose {{key}} placeholders are replaced by the variant's config values";

const fileContent = {
  content: z.string().optional().describe("The file's text, written as is"),
  template: z.string().optional().describe(`The file's text as a template: ${TEMPLATE_HELP}`),
};
const oneSource = (f: { content?: string | undefined; template?: string | undefined }) => (f.content === undefined) !== (f.template === undefined);

export const imageFile = z
  .object({
    ...fileContent,
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'expected an octal mode like "0644"')
      .default("0644")
      .describe('Permissions, octal like "0644" (no setuid, setgid or sticky bits)'),
    owner: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/, 'expected "user" or "user:group"')
      .default("root:root")
      .describe('"user" or "user:group" of the image (a declared user, or one a package creates)'),
  })
  .strict()
  .refine(oneSource, "give exactly one of content or template");

export const unitName = z
  .string()
  .regex(/^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|path|mount)$/, "expected a systemd unit name like app.service")
  .describe("A systemd unit name");

export const imageUnit = z
  .object({
    ...fileContent,
    enabled: z.boolean().default(true).describe("Enabled at boot (systemctl enable); false disables a unit a package enabled"),
  })
  .strict()
  .refine((u) => u.content === undefined || u.template === undefined, "give at most one of content or template (neither: a unit a package installs)")
  .describe("A unit file written to /etc/systemd/system (content or template), or one a package installs when neither is given");

export const userName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "expected a Linux user name: lower-case letters, digits, _ and -, at most 32").describe("A user name");

const sshKey = z
  .string()
  .regex(/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?$/, 'expected one OpenSSH public key line, like "ssh-ed25519 AAAA... me@host"')
  .describe("An OpenSSH public key line");

export const imageUser = z
  .object({
    groups: z.array(userName).default([]).describe("Existing groups of the image the user joins, such as sudo"),
    sshKeys: z.array(sshKey).default([]).describe("Public keys written to the user's ~/.ssh/authorized_keys"),
    shell: imagePath.default("/bin/bash").describe("Login shell"),
  })
  .strict()
  .describe("A login user, created with the image's own useradd (with a group of its name and a home directory)");

export const cloudInit = z
  .object({
    userData: z
      .string()
      .refine((t) => /^(#cloud-config|#!)/.test(t), 'user-data starts with "#cloud-config" or "#!" (a script)')
      .describe("cloud-init user-data, seeded as NoCloud data cloud-init runs once per instance on its first boot"),
  })
  .strict()
  .describe("cloud-init's per-instance setup (needs the cloud-init package in the variant)");

/** The fields an image and each of its variants may declare; absent when not declared, so images that declare none keep the inputs (and state) they had. */
export const contentFields = {
  files: z.record(imagePath, imageFile).optional().describe("Files written into the image, by absolute path"),
  units: z.record(unitName, imageUnit).optional().describe("systemd units to install and enable, by unit name"),
  users: z.record(userName, imageUser).optional().describe("Login users to create, by name"),
  cloudInit: cloudInit.optional(),
};

export type ImageFile = z.output<typeof imageFile>;
export type ImageUnit = z.output<typeof imageUnit>;
export type ImageUser = z.output<typeof imageUser>;

/** A variant's resolved contents; empty maps when it declares none. */
export interface VariantContents {
  files: Record<string, ImageFile>;
  units: Record<string, ImageUnit>;
  users: Record<string, ImageUser>;
  cloudInit?: { userData: string };
}

export function isEmptyContents(c: VariantContents): boolean {
  return Object.keys(c.files).length + Object.keys(c.units).length + Object.keys(c.users).length === 0 && c.cloudInit === undefined;
}

/** What an image or a variant declares (each field optional). */
export type DeclaredContents = Partial<VariantContents>;

/** The image's contents with the variant's overlay applied: the variant's entry for a key replaces the image's. */
export function mergeContents(image: DeclaredContents, variant: DeclaredContents): VariantContents {
  const cloud = variant.cloudInit ?? image.cloudInit;
  return {
    files: sorted({ ...image.files, ...variant.files }),
    units: sorted({ ...image.units, ...variant.units }),
    users: sorted({ ...image.users, ...variant.users }),
    ...(cloud ? { cloudInit: cloud } : {}),
  };
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_.-]*)\s*\}\}/g;

/** The config keys a template names. */
export function templateKeys(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** A template with each {{key}} replaced by the config's value; a key the config lacks is an error. */
export function renderTemplate(template: string, config: Record<string, string | number | boolean>): string {
  return template.replace(PLACEHOLDER, (_all, key: string) => {
    if (!Object.hasOwn(config, key)) throw new Error(`the template names {{${key}}}, which the variant's config does not set`);
    return String(config[key]);
  });
}

/** Where each template of a resolved variant names a config key it lacks: [field path, key]. */
export function missingTemplateKeys(contents: VariantContents, config: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  const check = (path: string, template: string | undefined) => {
    if (template !== undefined) for (const key of templateKeys(template)) if (!Object.hasOwn(config, key)) out.push([path, key]);
  };
  for (const [p, f] of Object.entries(contents.files)) check(`files.${p}.template`, f.template);
  for (const [u, unit] of Object.entries(contents.units)) check(`units.${u}.template`, unit.template);
  return out;
}
