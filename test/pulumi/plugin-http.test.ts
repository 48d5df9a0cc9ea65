// The plugin configured with a served emulator (virtform:endpoint + a secret virtform:token): the
// same calls go through the HTTP backend, and the API shows what they made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_SIGNATURE, SIGNATURE_KEY } from "../../provider/pulumi/property-values.ts";
import { makeWorkdir } from "../helpers/cli.ts";
import { TOKEN, serve, type Served } from "../emulator-http/helpers.ts";
import { proto, startPlugin, struct, type Message, type Plugin } from "./plugin-client.ts";

const POOL = "urn:pulumi:dev::shop::virtform:storage:StoragePool::fast";
let served: Served;
let plugin: Plugin;

function request(type: string, fields: Record<string, unknown>): Message {
  const message = new proto[type]();
  for (const [field, value] of Object.entries(fields)) message[`set${field}`](value);
  return message;
}

beforeAll(async () => {
  served = await serve();
  plugin = await startPlugin(makeWorkdir("virtform-pulumi-http-"), { VIRTFORM_ENDPOINT: "", VIRTFORM_TOKEN: "" });
});
afterAll(async () => {
  await plugin?.stop();
  await served?.stop();
});

describe("pulumi-resource-virtform on a served emulator", () => {
  it("needs a token with an endpoint", async () => {
    await expect(plugin.call("configure", request("ConfigureRequest", { Args: struct({ endpoint: served.url }) }))).rejects.toThrow(
      /needs a token: set virtform:token/,
    );
  });

  it("creates through the HTTP API, idempotently", async () => {
    const token = { [SIGNATURE_KEY]: SECRET_SIGNATURE, value: TOKEN };
    await plugin.call("configure", request("ConfigureRequest", { Args: struct({ endpoint: served.url, token }), Acceptsecrets: true }));
    const properties = struct({ media: "nvme", devices: [{ sizeGiB: 50 }], overcommit: 2 });
    const first = await plugin.call("create", request("CreateRequest", { Urn: POOL, Properties: properties }));
    const again = await plugin.call("create", request("CreateRequest", { Urn: POOL, Properties: properties }));
    expect(again.getId()).toBe(first.getId());
    expect(first.getProperties().toJavaScript()).toMatchObject({ provisionableGiB: 100 });
    const pools = (await served.api.call("GET", "/v1/pools")).body.items as { id: string; name: string }[];
    expect(pools.map((p) => [p.id, p.name])).toEqual([[first.getId(), "pool.fast"]]);
  });
});
