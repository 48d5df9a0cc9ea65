// What the engine needs of a served emulator beyond CRUD: finding what an interrupted create made
// (by its idempotency key) and the capacity the plan shows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpBackend } from "../../provider/http-backend.ts";
import { VirtformProvider } from "../../provider/virtform-provider.ts";
import { serve, specs, TOKEN, type Served } from "./helpers.ts";

const owner = (address: string) => ({ stack: "shop", lineage: "lin-1", address });

describe("recovery and capacity over HTTP", () => {
  let served: Served;
  let provider: VirtformProvider;
  beforeAll(async () => {
    served = await serve();
    provider = new VirtformProvider(new HttpBackend({ endpoint: served.url, token: TOKEN }));
  });
  afterAll(() => served.stop());

  it("recover finds what a create with the same token made, and nothing for an unused token", async () => {
    const created = await provider.create("StoragePool", specs.pool, { token: "tok-1", ...owner("pool.p") });
    const found = await provider.recover("StoragePool", "tok-1");
    expect(found?.id).toBe(created.id);
    expect(await provider.recover("StoragePool", "tok-unused")).toBeNull();
    // Keys are scoped by kind: the same token names nothing of another kind.
    expect(await provider.recover("Cluster", "tok-1")).toBeNull();
  });

  it("capacity lists used and usable per cluster and pool", async () => {
    const cluster = await provider.create("Cluster", specs.cluster, { token: "tok-2", ...owner("cluster.c") });
    const rows = await provider.capacity();
    // Rows carry the object's id: names may repeat across stacks sharing an emulator.
    expect(rows).toContainEqual({ id: cluster.id, owner: "cluster.c", measure: "vCPU", unit: "", used: 0, total: 32 });
    expect(rows.find((r) => r.owner === "pool.p")).toMatchObject({ measure: "provisioned", used: 0, total: 100 });
  });

  it("objects carry their owner as tags, kept through updates and filtered on in lists", async () => {
    const { id } = await provider.create("StoragePool", specs.pool, { token: "tok-3", ...owner("pool.q") });
    const tags = { "virtform:stack": "shop", "virtform:lineage": "lin-1", "virtform:address": "pool.q" };
    expect((await served.api.get(`/v1/pools/${id}`)).body.tags).toEqual(tags);
    await served.api.put(`/v1/pools/${id}`, { spec: specs.pool });
    const listed = await served.api.get(`/v1/pools?tag=${encodeURIComponent("virtform:address=pool.q")}&tag=virtform:stack=shop`);
    expect(listed.body.items.map((o: { id: string }) => o.id)).toEqual([id]);
    expect((await served.api.get("/v1/pools?tag=virtform:stack=other")).body.items).toEqual([]);
    expect((await served.api.get("/v1/pools?tag=nokey")).status).toBe(422);
    expect((await served.api.post("/v1/pools", { name: "x", spec: specs.pool, tags: { __proto__x: "y" } })).status).toBe(422);
    expect(await provider.read("StoragePool", id)).toMatchObject({ owner: { stack: "shop", lineage: "lin-1", address: "pool.q" } });
    const owned = await provider.listOwned("shop");
    expect(owned.map((o) => `${o.kind} ${o.owner.address}`).sort()).toEqual(["Cluster cluster.c", "StoragePool pool.p", "StoragePool pool.q"]);
    expect(await provider.listOwned("other")).toEqual([]);
    // Let go of (state rm, retainOnDelete), it is no longer the stack's; set again, it is.
    await provider.setOwner("StoragePool", id, null);
    expect((await served.api.get(`/v1/pools/${id}`)).body.tags).toEqual({});
    expect((await provider.listOwned("shop")).map((o) => o.id)).not.toContain(id);
    await provider.setOwner("StoragePool", id, { stack: "shop", lineage: "lin-2", address: "pool.r" });
    expect((await provider.listOwned("shop")).find((o) => o.id === id)?.owner).toEqual({ stack: "shop", lineage: "lin-2", address: "pool.r" });
    expect((await served.api.put(`/v1/pools/${id}/tags`, { "bad key": "x" })).status).toBe(422);
    expect((await served.api.put("/v1/pools/pool-ffffff/tags", {})).status).toBe(404);
  });
});
