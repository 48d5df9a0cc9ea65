// The floor: the least a provider on our transport can do, to tell Terraform's cost of any external
// plugin from our provider's (BENCHMARKS.md, "Terraform with our provider: where the rest goes").
// It serves our own gRPC (grpc-server.ts), certificate and message codecs, and answers every call at
// once, from no state:
//   floor     the provider "floor" with one resource, floor_data, whose schema is terraform_data's
//             (id computed string, input dynamic, output dynamic computed, triggers_replace dynamic),
//             planned as terraform_data plans it (id and output unknown);
//   virtform  the provider "virtform" with our real resource schemas (schema.ts), each planned as the
//             proposed state with its null computed attributes unknown: our schema's cost to Terraform
//             without our provider's work.
// Started by bench/compare-terraform/floor-bin/<mode>/terraform-provider-<name>; compare.ts runs
// them as the tools terraform+floor and terraform+floor-schema. Bench only: no validation, no state.
import { selfSignedCertificate } from "../../provider/terraform/certificate.ts";
import { serveGrpc } from "../../provider/terraform/grpc-server.ts";
import { decode, encode, isExtension, UNKNOWN_EXTENSION, type Packed } from "../../provider/terraform/msgpack.ts";
import { loadMethods } from "../../provider/terraform/protocol.ts";
import { MAGIC_COOKIE, methodTable } from "../../provider/terraform/server.ts";

type Mode = "floor" | "virtform";
/* eslint-disable @typescript-eslint/no-explicit-any -- requests are plain objects decoded by protobufjs */
type Handler = (request: any) => unknown;

const mode = process.argv[2] as Mode;
if (mode !== "floor" && mode !== "virtform") throw new Error("floor-provider.ts takes floor or virtform");
if (process.env[MAGIC_COOKIE.key] !== MAGIC_COOKIE.value) throw new Error("a Terraform plugin: Terraform starts it");

const dynamic = Buffer.from('"dynamic"');
const attribute = (name: string, type: Buffer, flags: { optional?: boolean; computed?: boolean }) => ({ name, type, description: "", ...flags });

/** Each resource type's schema message and the top-level attributes its plan makes unknown when null. */
async function resources(): Promise<Map<string, { schema: unknown; computed: string[] }>> {
  if (mode === "floor") {
    const schema = {
      version: 0,
      block: {
        version: 0,
        attributes: [
          attribute("id", Buffer.from('"string"'), { computed: true }),
          attribute("input", dynamic, { optional: true }),
          attribute("output", dynamic, { computed: true }),
          attribute("triggers_replace", dynamic, { optional: true }),
        ],
      },
    };
    return new Map([["floor_data", { schema, computed: ["id", "output"] }]]);
  }
  const { resourceSchemas, schemaMessage } = await import("../../provider/terraform/schema.ts");
  const out = new Map<string, { schema: unknown; computed: string[] }>();
  for (const [name, s] of resourceSchemas()) {
    const computed = Object.entries(s.attributes).filter(([, a]) => a.computed).map(([n]) => n);
    out.set(name, { schema: schemaMessage(s.attributes, s.description), computed });
  }
  return out;
}

/** The proposed state with the computed attributes Terraform left null unknown; floor_data's output is unknown of the input's type. */
function planned(typeName: string, proposed: Packed, computed: string[]): Packed {
  const state = { ...(proposed as Record<string, Packed>) };
  for (const name of computed) if (state[name] === null) state[name] = UNKNOWN_EXTENSION;
  if (typeName === "floor_data") {
    const input = state.input;
    // A dynamic value is [type, value]; null input gives null output, as terraform_data plans it.
    state.output = input === null || input === undefined || isExtension(input) ? (input ?? null) : [(input as Packed[])[0]!, UNKNOWN_EXTENSION];
  }
  return state;
}

async function main(): Promise<void> {
  const types = await resources();
  const capabilities = { plan_destroy: false, get_provider_schema_optional: true };
  const provider: Record<string, Handler> = {
    GetMetadata: () => ({ server_capabilities: capabilities, resources: [...types.keys()].map((type_name) => ({ type_name })) }),
    GetProviderSchema: () => ({
      provider: { version: 0, block: { version: 0, attributes: [] } },
      resource_schemas: Object.fromEntries([...types].map(([name, t]) => [name, t.schema])),
      server_capabilities: capabilities,
    }),
    ValidateProviderConfig: () => ({}),
    ConfigureProvider: () => ({}),
    ValidateResourceConfig: () => ({}),
    UpgradeResourceState: (r) => ({ upgraded_state: { json: r.raw_state?.json } }),
    ReadResource: (r) => ({ new_state: r.current_state, private: r.private }),
    PlanResourceChange: (r) => {
      const proposed = decode(r.proposed_new_state.msgpack);
      if (proposed === null) return { planned_state: r.proposed_new_state };
      const prior = r.prior_state?.msgpack?.length ? decode(r.prior_state.msgpack) : null;
      return { planned_state: { msgpack: prior === null ? encode(planned(r.type_name, proposed, types.get(r.type_name)!.computed)) : r.proposed_new_state.msgpack } };
    },
    ApplyResourceChange: (r) => {
      const state = decode(r.planned_state.msgpack);
      if (state === null) return { new_state: r.planned_state };
      const known = state as Record<string, Packed>;
      for (const [name, value] of Object.entries(known)) if (isExtension(value)) known[name] = name === "id" ? `floor-${Math.random().toString(36).slice(2)}` : null;
      if (r.type_name === "floor_data") known.output = known.input ?? null;
      return { new_state: { msgpack: encode(known) } };
    },
    GetFunctions: () => ({}),
    StopProvider: () => ({}),
  };
  const methods = methodTable(loadMethods(), provider, () => process.exit(0));
  const identity = selfSignedCertificate();
  const clientCertPem = process.env.PLUGIN_CLIENT_CERT!;
  const server = await serveGrpc((path) => methods.get(path), { keyPem: identity.keyPem, certPem: identity.certPem, clientCertPem });
  process.stdout.write(`1|6|tcp|127.0.0.1:${server.port}|grpc|${identity.der.toString("base64").replace(/=+$/, "")}\n`);
}

await main();
