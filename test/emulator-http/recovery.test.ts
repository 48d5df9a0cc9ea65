// What the engine needs of a served emulator beyond CRUD: finding what an interrupted create made
// (by its idempotency key) and the capacity the plan shows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpBackend } from "../../provider/http-backend.ts";
import { VirtformProvider } from "../../provider/virtform-provider.ts";
import { serve, specs, TOKEN, type Served } from "./helpers.ts";

describe("recovery and capacity over HTTP", () => {
  let served: Served;
  let provider: VirtformProvider;
  beforeAll(async () => {
    served = await serve();
    provider = new VirtformProvider(new HttpBackend({ endpoint: served.url, token: TOKEN }));
  });
  afterAll(() => served.stop());

  it("recover finds what a create with the same token made, and nothing for an unused token", async () => {
    const created = await provider.create("StoragePool", specs.pool, { token: "tok-1", address: "pool.p" });
    const found = await provider.recover("StoragePool", "tok-1");
    expect(found?.id).toBe(created.id);
    expect(await provider.recover("StoragePool", "tok-unused")).toBeNull();
    // Keys are scoped by kind: the same token names nothing of another kind.
    expect(await provider.recover("Cluster", "tok-1")).toBeNull();
  });

  it("capacity lists used and usable per cluster and pool", async () => {
    const cluster = await provider.create("Cluster", specs.cluster, { token: "tok-2", address: "cluster.c" });
    const rows = await provider.capacity();
    // Rows carry the object's id: names may repeat across stacks sharing an emulator.
    expect(rows).toContainEqual({ id: cluster.id, owner: "cluster.c", measure: "vCPU", unit: "", used: 0, total: 32 });
    expect(rows.find((r) => r.owner === "pool.p")).toMatchObject({ measure: "provisioned", used: 0, total: 100 });
  });
});
