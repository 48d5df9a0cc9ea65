// A Pulumi project as virtform runs it without the Pulumi CLI: Pulumi.yaml names the project and the
// program, Pulumi.<stack>.yaml holds the stack's config. `secure:` values are decrypted as the Pulumi
// CLI's passphrase secrets provider does (PULUMI_CONFIG_PASSPHRASE), so a stack file written by
// `pulumi config set --secret` works here too.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createDecipheriv, pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import { CliError } from "../cli-error.ts";

// YAML is read with the js-yaml that @pulumi/pulumi depends on (it reads the same files). Loaded on
// first use: plan and apply import this file for every program, Pulumi or not.
let yaml: { load(text: string): unknown } | undefined;
function loadYaml(text: string): unknown {
  yaml ??= createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi"))("js-yaml") as { load(text: string): unknown };
  return yaml.load(text);
}

export interface PulumiProject {
  dir: string;
  name: string;
  /** The program file cmd/run loads. */
  main: string;
  stack: string;
  /** PULUMI_CONFIG: "<namespace>:<key>" -> string. */
  config: Record<string, string>;
  /** Config keys whose values were `secure:`. */
  secretKeys: string[];
}

/** The project directory when `program` (or `--pulumi`'s value) names a Pulumi project, else undefined. */
export function pulumiProjectDir(program: string, pulumi: string | boolean | undefined): string | undefined {
  const candidate = typeof pulumi === "string" ? pulumi : pulumi === true ? (program === "infra.ts" ? "." : program) : program;
  const dir = existsSync(candidate) && statSync(candidate).isDirectory() ? candidate : undefined;
  if (dir && existsSync(join(dir, "Pulumi.yaml"))) return resolve(dir);
  if (pulumi) throw new CliError(`--pulumi: no Pulumi.yaml in ${resolve(dir ?? candidate)}; pass the directory of a Pulumi project`);
  return undefined;
}

export function readProject(projectDir: string, stackOption: string | undefined): PulumiProject {
  const { dir, name, main } = readManifest(projectDir);
  const stack = pickStack(dir, stackOption);
  const { config, secretKeys } = readConfig(dir, name, stack);
  return { dir, name, main, stack, config, secretKeys };
}

/** The virtform stack a Pulumi project's stack is kept as: "<project>.<stack>". */
export function stackNameOf(project: { name: string; stack: string }): string {
  return `${project.name}.${project.stack}`;
}

/** The stack's name alone, without reading (or decrypting) its config: what destroy needs. */
export function projectStackName(projectDir: string, stackOption: string | undefined): string {
  const { dir, name } = readManifest(projectDir);
  return stackNameOf({ name, stack: pickStack(dir, stackOption) });
}

/** --stack, else the only Pulumi.<stack>.yaml, else "dev". */
function pickStack(dir: string, stackOption: string | undefined): string {
  return stackOption ?? onlyStack(dir) ?? "dev";
}

/** Pulumi.yaml: the project's name and its program file. */
export function readManifest(projectDir: string): { dir: string; name: string; main: string } {
  const dir = resolve(projectDir);
  const manifest = readYaml(join(dir, "Pulumi.yaml")) as { name?: unknown; runtime?: unknown; main?: unknown };
  if (typeof manifest.name !== "string" || manifest.name === "") throw new CliError(`${join(dir, "Pulumi.yaml")}: name is required`);
  const runtime = typeof manifest.runtime === "object" && manifest.runtime !== null ? (manifest.runtime as { name?: unknown }).name : manifest.runtime;
  if (runtime !== "nodejs") throw new CliError(`${join(dir, "Pulumi.yaml")}: runtime ${JSON.stringify(runtime)} is not supported; virtform runs nodejs Pulumi programs`);
  return { dir, name: manifest.name, main: mainFile(dir, manifest.main) };
}

function readYaml(file: string): Record<string, unknown> {
  try {
    const doc = loadYaml(readFileSync(file, "utf8"));
    return typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : {};
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
}

/** The stack when exactly one Pulumi.<stack>.yaml is there. */
function onlyStack(dir: string): string | undefined {
  const stacks = readdirSync(dir).map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1]).filter((s): s is string => s !== undefined);
  if (stacks.length > 1) throw new CliError(`${dir} has several stacks (${stacks.join(", ")}); choose one with --stack`);
  return stacks[0];
}

function mainFile(dir: string, main: unknown): string {
  const base = resolve(dir, typeof main === "string" ? main : ".");
  if (existsSync(base) && statSync(base).isFile()) return base;
  for (const index of ["index.ts", "index.js", "index.mjs"]) if (existsSync(join(base, index))) return join(base, index);
  throw new CliError(`no Pulumi program in ${base}: expected index.ts or index.js (or main: in Pulumi.yaml)`);
}

function readConfig(dir: string, project: string, stack: string): { config: Record<string, string>; secretKeys: string[] } {
  const file = join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) return { config: {}, secretKeys: [] };
  const doc = readYaml(file) as { config?: Record<string, unknown>; encryptionsalt?: unknown };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  let decrypt: ((ciphertext: string) => string) | undefined;
  for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (typeof value === "object" && value !== null && "secure" in value) {
      decrypt ??= passphraseDecrypter(file, doc.encryptionsalt);
      config[key] = decrypt(String((value as { secure: unknown }).secure));
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

/**
 * Pulumi's passphrase secrets provider: the key is PBKDF2-SHA256 (1,000,000 rounds) of the passphrase
 * over the stack's salt; values are "v1:<nonce>:<AES-256-GCM ciphertext and tag>" in base64; the
 * salt state "v1:<salt>:<'pulumi' encrypted>" checks the passphrase.
 */
function passphraseDecrypter(file: string, salt: unknown): (ciphertext: string) => string {
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  const name = basename(file);
  if (typeof salt !== "string" || !salt.startsWith("v1:")) {
    throw new CliError(`${name} holds secure: values but no encryptionsalt: virtform decrypts only the passphrase secrets provider's values`);
  }
  if (passphrase === undefined) throw new CliError(`${name} holds secure: values: set PULUMI_CONFIG_PASSPHRASE to the stack's passphrase`);
  const [, saltBase64 = "", ...check] = salt.split(":");
  const key = pbkdf2Sync(passphrase, Buffer.from(saltBase64, "base64"), 1_000_000, 32, "sha256");
  const decrypt = (ciphertext: string): string => {
    const [version, nonce, sealed] = ciphertext.split(":");
    if (version !== "v1" || !nonce || !sealed) throw new CliError(`${name}: a secure: value is not in Pulumi's v1 format`);
    const bytes = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString("utf8");
  };
  let checked: string;
  try {
    checked = decrypt(check.join(":"));
  } catch {
    checked = "";
  }
  if (checked !== "pulumi") throw new CliError(`${name}: PULUMI_CONFIG_PASSPHRASE is not the passphrase this stack's secrets were encrypted with`);
  return (ciphertext) => {
    try {
      return decrypt(ciphertext);
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`${name}: a secure: value cannot be decrypted with this passphrase`);
    }
  };
}
