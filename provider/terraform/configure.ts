// The provider block: a served emulator (endpoint + token, as the CLI's --endpoint / VIRTFORM_TOKEN)
// or the embedded emulator's data directory, held by this process while it runs.
// The backends load only when Terraform configures the provider: of its three launches per plan, the
// first (the schema) and the second (validation) never do, and the emulator's modules are a good
// part of a launch's start-up.
import { resolve } from "node:path";
import { isUnknown, type Value } from "../../core/model.ts";
import { isVirtformError } from "../../core/virtform-error.ts";
import type { VirtformProvider } from "../virtform-provider.ts";
import { error, type Diagnostic } from "./diagnostics.ts";
import { openImageLock, type ImageLock } from "./image-lock.ts";
import type { Attribute } from "./shape.ts";
import { ImagesError } from "../../images/images-error.ts";

export interface ProviderSettings {
  endpoint?: Value;
  token?: Value;
  dataDir?: Value;
  lockfile?: Value;
}

export function validateSettings(settings: ProviderSettings, attributes: Record<string, Attribute>): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const nameOf = (field: string) => Object.entries(attributes).find(([, a]) => a.field === field)![0];
  const { endpoint } = settings;
  if (typeof endpoint === "string" && !/^https?:\/\/[^/]/.test(endpoint)) {
    diagnostics.push(error("Invalid endpoint", `endpoint must be an http(s) URL, got ${JSON.stringify(endpoint)}`, [{ attribute_name: nameOf("endpoint") }]));
  }
  return diagnostics;
}

/**
 * The backend the provider block names; undefined while a setting is known only after apply (the
 * plan then goes without reading or rehearsing: Terraform configures the provider again, known, for
 * the apply). A served emulator is asked once here, so that an unreachable one or a refused token is
 * one error on the provider, not one on every resource.
 */
export async function configureBackend(settings: ProviderSettings, cwd: string): Promise<VirtformProvider | undefined> {
  if ([settings.endpoint, settings.token, settings.dataDir].some(isUnknown)) return undefined;
  const setting = (value: Value | undefined) => (typeof value === "string" && value !== "" ? value : undefined);
  const { VirtformProvider } = await import("../virtform-provider.ts");
  const endpoint = setting(settings.endpoint) ?? process.env.VIRTFORM_ENDPOINT;
  if (endpoint) {
    const fromBlock = setting(settings.token);
    const token = fromBlock ?? process.env.VIRTFORM_TOKEN;
    if (!token) throw new SettingsError(error("Missing token", `the emulator at ${endpoint} needs a token: set token in the provider block or VIRTFORM_TOKEN`));
    const { HttpBackend } = await import("../http-backend.ts");
    const backend = new HttpBackend({ endpoint, token, tokenSource: fromBlock ? "the provider block's token" : "VIRTFORM_TOKEN" });
    // The newest event or none: the cheapest call that needs the token.
    await backend.events(Number.MAX_SAFE_INTEGER).catch((err: unknown) => {
      if (!isVirtformError(err)) throw err; // a bug, reported as one
      // On the setting at fault, when the provider block has it: a refused token, else the endpoint.
      const at = err.code === "unauthorized" ? (fromBlock ? "token" : undefined) : setting(settings.endpoint) ? "endpoint" : undefined;
      throw new SettingsError(error("Cannot use the virtform emulator", err.message, at ? [{ attribute_name: at }] : []));
    });
    return new VirtformProvider(backend);
  }
  const dataDir = resolve(cwd, setting(settings.dataDir) ?? ".virtform/emulator");
  await holdData(dataDir);
  const { EmbeddedBackend } = await import("../embedded-backend.ts");
  return new VirtformProvider(EmbeddedBackend.open(dataDir));
}

/** The lock images with a lock_key are locked by; a missing or malformed one is an error on lockfile. */
export function configureImageLock(settings: ProviderSettings, cwd: string): ImageLock | undefined {
  try {
    return openImageLock(typeof settings.lockfile === "string" && settings.lockfile !== "" ? settings.lockfile : undefined, cwd);
  } catch (err) {
    if (!(err instanceof ImagesError)) throw err; // a bug, reported as one
    throw new SettingsError(error("Invalid lockfile", err.message, [{ attribute_name: "lockfile" }]));
  }
}

export class SettingsError extends Error {
  readonly diagnostic: Diagnostic;

  constructor(diagnostic: Diagnostic) {
    super(diagnostic.summary);
    this.diagnostic = diagnostic;
  }
}

/** The embedded emulator's data is one process's at a time, as for the CLI; released when the plugin exits. */
async function holdData(dataDir: string): Promise<void> {
  const { acquireInUseLock, InUseError } = await import("../in-use-lock.ts");
  try {
    const lock = acquireInUseLock(dataDir, "terraform-provider-virtform");
    process.once("exit", () => lock.release());
  } catch (err) {
    if (!(err instanceof InUseError)) throw err;
    throw new SettingsError(error("Emulator data in use", `${err.message}; serve it (virtform emulator serve) and set endpoint and token in the provider block`));
  }
}
