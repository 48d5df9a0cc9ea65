// The pure parts of what a plan reports: output changes, data loss, capacity rows, articles.
import { describe, expect, it } from "vitest";
import { dataLoss } from "../../engine/data-loss.ts";
import { UNKNOWN, type Value } from "../../core/model.ts";
import { diffOutputs } from "../../engine/output-changes.ts";
import { withArticle } from "../../core/article.ts";
import { capacityChanges, ownRows } from "../../engine/render/capacity.ts";
import type { Action } from "../../engine/plan-resource.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";

describe("diffOutputs", () => {
  const cases: [string, Record<string, Value>, Record<string, Value>, string[], unknown[]][] = [
    ["nothing changes", { a: 1 }, { a: 1 }, [], []],
    ["added, changed, removed", { a: 1, b: "x" }, { a: 2, c: true }, [], [
      { name: "a", action: "update", before: 1, after: 2, secret: false },
      { name: "c", action: "create", after: true, secret: false },
      { name: "b", action: "delete", before: "x", secret: false },
    ]],
    ["known after apply", { id: "vol-1" }, { id: UNKNOWN }, [], [{ name: "id", action: "update", before: "vol-1", after: UNKNOWN, secret: false }]],
    ["a secret output carries no value", { pw: "old" }, { pw: "new" }, ["pw"], [{ name: "pw", action: "update", before: "(sensitive)", after: "(sensitive)", secret: true }]],
    ["a secret inside an output is redacted alone", { db: { pw: "a", port: 1 } }, {}, ["db.pw"], [{ name: "db", action: "delete", before: { pw: "(sensitive)", port: 1 }, secret: true }]],
  ];
  it.each(cases)("%s", (_name, before, after, secrets, expected) => {
    expect(diffOutputs(before, after, secrets)).toEqual(expected);
  });
});

describe("dataLoss of an instance's local disk", () => {
  const instance = kindInfo.get("Instance");
  const running = { localDiskGiB: 40, powerState: "running" };
  const cases: [string, Action, Record<string, Value> | null, Record<string, Value> | null, unknown][] = [
    ["a restart wipes it", "update-with-restart", running, { ...running, vcpu: 4 }, { what: "local disk", size: 40, unit: "GiB" }],
    ["a replacement wipes it", "replace", running, running, { what: "local disk", size: 40, unit: "GiB" }],
    ["a delete wipes it", "delete", running, null, { what: "local disk", size: 40, unit: "GiB" }],
    ["a stop wipes it", "update", running, { ...running, powerState: "stopped" }, { what: "local disk", size: 40, unit: "GiB" }],
    ["an in-place update keeps it", "update", running, { ...running, userData: "x" }, undefined],
    ["a create has nothing to lose", "create", null, running, undefined],
    ["no local disk, nothing lost", "replace", { localDiskGiB: 0 }, { localDiskGiB: 0 }, undefined],
    ["a stopped instance's disk is empty already", "replace", { localDiskGiB: 40, powerState: "stopped" }, running, undefined],
  ];
  it.each(cases)("%s", (_name, action, before, after, expected) => {
    expect(dataLoss({ action, before, after }, instance)).toEqual(expected);
  });

  it("kinds without ephemeral storage lose nothing", () => {
    expect(dataLoss({ action: "delete", before: { sizeGiB: 40 }, after: null }, kindInfo.get("Volume"))).toBeUndefined();
  });
});

describe("capacity rows", () => {
  const row = (id: string, owner: string, used: number) => ({ id, owner, measure: "vCPU", unit: "", used, total: 32 });
  const state = { resources: { "cluster.web": { kind: "Cluster", id: "cl-1", inputs: {}, outputs: {}, dependsOn: [] } } };

  it("keeps the stack's own rows, named by their address, and leaves another stack's of the same name out", () => {
    expect(ownRows([row("cl-1", "cluster.web", 2), row("cl-2", "cluster.web", 8)], state)).toEqual([row("cl-1", "cluster.web", 2)]);
  });

  it("matches before and after by id, not by name", () => {
    const changes = capacityChanges([row("cl-1", "cluster.web", 2), row("cl-2", "cluster.web", 8)], [row("cl-1", "cluster.web", 4), row("cl-2", "cluster.web", 8)]);
    expect(changes).toEqual([{ id: "cl-1", owner: "cluster.web", measure: "vCPU", unit: "", before: { used: 2, total: 32 }, after: { used: 4, total: 32 } }]);
  });

  it("a failed plan keeps unchanged rows: they explain the failure", () => {
    expect(capacityChanges([row("cl-1", "cluster.web", 2)], [row("cl-1", "cluster.web", 2)], true)).toHaveLength(1);
    expect(capacityChanges([row("cl-1", "cluster.web", 2)], [row("cl-1", "cluster.web", 2)])).toHaveLength(0);
  });
});

describe("withArticle", () => {
  it.each([
    ["Instance", "an Instance"],
    ["Image", "an Image"],
    ["Attachment", "an Attachment"],
    ["Volume", "a Volume"],
    ["StoragePool", "a StoragePool"],
    ["update", "an update"],
    ["create", "a create"],
    ["unknown kind of", "an unknown kind of"],
    ["user", "a user"],
    ["hour", "an hour"],
  ])("%s -> %s", (word, expected) => {
    expect(withArticle(word)).toBe(expected);
  });
});
