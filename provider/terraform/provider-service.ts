// The tfplugin6 Provider service: each method unpacks its request, calls TerraformResources, and packs
// the reply; a refusal becomes a diagnostic, anything else a diagnostic that says it is a bug.
import { isVirtformError } from "../../core/virtform-error.ts";
import type { Owner } from "../../engine/provider.ts";
import { fromPacked } from "./codec.ts";
import { configureBackend, configureImageLock, SettingsError, validateSettings, type ProviderSettings } from "./configure.ts";
import { error, type Diagnostic } from "./diagnostics.ts";
import { decode, encode, type Packed } from "./msgpack.ts";
import { IMAGE_VARIANT, readImageVariant } from "./image-variant.ts";
import { ResourceError, TerraformResources } from "./resources.ts";
import { providerAttributes, schemaMessage } from "./schema.ts";
import { readSchemas, type Schemas } from "./schemas-file.ts";
import { ValidatedConfigs } from "./validated.ts";

/* eslint-disable @typescript-eslint/no-explicit-any -- requests are plain objects decoded by protobufjs */
type Request = any;
/** A unary method: the request as decoded, the reply to encode; it never rejects. */
export type Handler = (request: Request) => Promise<Record<string, unknown>>;

interface DynamicValue {
  msgpack?: Uint8Array;
  json?: Uint8Array;
}

export interface ProviderOptions {
  /** Where a relative data dir is taken from: Terraform's working directory. */
  cwd: string;
  /** Who owns what Terraform creates through this plugin. */
  owner: Omit<Owner, "address">;
  /** Given what to do before the process exits (throw away the plan's copy of the backend). */
  beforeExit?: (cleanup: () => Promise<void>) => void;
}

/** `schemas`: as generated (the plugin), or derived from the kinds now (the generator). */
export function providerService(options: ProviderOptions, { resources: schemas, imageVariant }: Schemas = readSchemas()): Record<string, Handler> {
  const resources = new TerraformResources(schemas, options.owner);
  options.beforeExit?.(() => resources.dispose());
  const providerShape = { type: "object" as const, attributes: providerAttributes };
  const validated = new ValidatedConfigs();

  /** Runs a handler; its refusals and bugs become diagnostics in the reply, as Terraform shows them. */
  const handle =
    (fn: (request: Request) => Record<string, unknown> | Promise<Record<string, unknown>>, diagnosticsField = "diagnostics"): Handler =>
    async (request) => {
      try {
        return await fn(request);
      } catch (err) {
        return { [diagnosticsField]: [diagnosticOf(err)] };
      }
    };

  // The schema is the same in every launch: Terraform may keep the first launch's for the later ones
  // of the same command instead of asking each again.
  // plan_destroy: Terraform asks the provider about each destroy too (delete protection, and the room
  // a destroy makes for the plan's creates on the rehearsal's copy).
  const capabilities = { plan_destroy: true, get_provider_schema_optional: true };

  return {
    GetMetadata: handle(() => ({
      server_capabilities: capabilities,
      resources: [...schemas.keys()].map((type_name) => ({ type_name })),
      data_sources: [{ type_name: IMAGE_VARIANT }],
    })),

    GetProviderSchema: handle(() => ({
      provider: schemaMessage(providerAttributes, "The virtform provider: the embedded emulator or a served one."),
      resource_schemas: Object.fromEntries([...schemas].map(([name, s]) => [name, schemaMessage(s.attributes, s.description)])),
      data_source_schemas: { [IMAGE_VARIANT]: schemaMessage(imageVariant.attributes, imageVariant.description) },
      server_capabilities: capabilities,
    })),

    ValidateProviderConfig: handle((request) => ({ diagnostics: validateSettings(settingsOf(request.config), providerAttributes) })),

    ConfigureProvider: handle(async (request) => {
      const settings = settingsOf(request.config);
      resources.imageLock = configureImageLock(settings, options.cwd);
      resources.cwd = options.cwd;
      resources.provider = await configureBackend(settings, options.cwd);
      resources.settingsUnknown = resources.provider === undefined;
      return { diagnostics: [] };
    }),

    ValidateResourceConfig: handle((request) => ({
      // Keyed by the MessagePack bytes; a configuration Terraform sends as JSON is validated each time.
      diagnostics: request.config?.msgpack?.length
        ? validated.get(request.type_name, request.config.msgpack, () => resources.validate(request.type_name, unpack(request.config)))
        : resources.validate(request.type_name, unpack(request.config)),
    })),

    ValidateDataResourceConfig: handle((request) => ({ diagnostics: request.type_name === IMAGE_VARIANT ? [] : [unknownDataSource(request.type_name)] })),

    UpgradeResourceState: handle((request) => {
      const raw = request.raw_state?.json;
      if (!raw || raw.length === 0) throw new ResourceError(error("Cannot upgrade state", "virtform reads state as JSON only (flatmap state predates it)"));
      return { upgraded_state: { msgpack: encode(resources.upgrade(request.type_name, JSON.parse(Buffer.from(raw).toString("utf8")))) }, diagnostics: [] };
    }),

    ReadResource: handle(async (request) => {
      const read = await resources.read(request.type_name, unpack(request.current_state), request.private);
      return { new_state: { msgpack: encode(read.state) }, private: read.private, diagnostics: [] };
    }),

    PlanResourceChange: handle(async (request) => {
      const result = await resources.plan(request.type_name, unpack(request.prior_state), unpack(request.proposed_new_state), unpack(request.config), request.prior_private);
      return {
        planned_state: { msgpack: encode(result.planned) },
        requires_replace: result.requiresReplace.map((steps) => ({ steps })),
        planned_private: result.private,
        diagnostics: result.diagnostics,
      };
    }),

    ApplyResourceChange: handle(async (request) => {
      const state = await resources.apply(
        request.type_name,
        unpack(request.prior_state),
        unpack(request.planned_state),
        unpack(request.config),
        request.planned_private ?? new Uint8Array(),
      );
      return { new_state: { msgpack: encode(state) }, private: Buffer.alloc(0), diagnostics: [] };
    }),

    ImportResourceState: handle(async (request) => {
      const imported = await resources.import(request.type_name, request.id);
      return { imported_resources: [{ type_name: request.type_name, state: { msgpack: encode(imported.state) }, private: imported.private }], diagnostics: [] };
    }),

    ReadDataSource: handle(async (request) => {
      if (request.type_name !== IMAGE_VARIANT) return { diagnostics: [unknownDataSource(request.type_name)] };
      return { state: { msgpack: encode(await readImageVariant(resources.backend(), unpack(request.config))) }, diagnostics: [] };
    }),

    GetFunctions: handle(() => ({ diagnostics: [] })),

    StopProvider: handle(() => ({})),
  };

  function settingsOf(config: DynamicValue | undefined): ProviderSettings {
    return (fromPacked(unpack(config), providerShape) ?? {}) as ProviderSettings;
  }
}

/** A DynamicValue's content: MessagePack, or JSON when Terraform sends that instead (kept as plain values). */
function unpack(value: DynamicValue | undefined): Packed {
  if (value?.msgpack && value.msgpack.length > 0) return decode(value.msgpack);
  if (value?.json && value.json.length > 0) return JSON.parse(Buffer.from(value.json).toString("utf8")) as Packed;
  return null;
}

function unknownDataSource(typeName: string): Diagnostic {
  return error(`Unknown data source ${typeName}`, `virtform's data source is ${IMAGE_VARIANT}`);
}

function diagnosticOf(err: unknown): Diagnostic {
  if (err instanceof ResourceError || err instanceof SettingsError) return err.diagnostic;
  // The backend's refusals (not-found, conflict, capacity ...) are said as they are.
  if (isVirtformError(err)) return error(err.message);
  process.stderr.write(`terraform-provider-virtform: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return error(`bug in terraform-provider-virtform: ${err instanceof Error ? err.message : String(err)}`, "the stack is in Terraform's log (TF_LOG=debug)");
}

