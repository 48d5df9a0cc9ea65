// planResource decides every action from (prior, desired, kind); one row per case, as Terraform's
// getAction tests do.
import { describe, expect, it } from "vitest";
import { UNKNOWN, type KindInfo, type Value } from "../../core/model.ts";
import { describeDecision, planResource, type Action, type Reason } from "../../engine/plan-resource.ts";
import { attachment, cluster, instance } from "../../sdk/kinds/index.ts";

const vm: Record<string, Value> = {
  cluster: "cl-1",
  group: "app",
  index: 0,
  image: { image: "img-1", variant: "heavy", digest: "sha256:a" },
  vcpu: 8,
  memoryGiB: 16,
  localDiskGiB: 40,
  powerState: "running",
};
const att: Record<string, Value> = { volume: "vol-1", instance: "i-1", mode: "read-write", device: "vdb" };
const hosts = { hypervisor: "native", hosts: { count: 4, vcpu: 32, memoryGiB: 256, localDiskGiB: 100 }, overcommit: { cpu: 1, memory: 1 }, placement: "spread" };

interface Row {
  name: string;
  kind: KindInfo;
  prior?: Record<string, Value>;
  desired?: Record<string, Value>;
  forceReplace?: boolean;
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  deleteBeforeReplace?: boolean;
  order?: "create-before-delete" | "delete-before-create";
  action: Action;
  reason: Reason;
  fields?: [string, string][];
  text?: string;
}

const rows: Row[] = [
  { name: "new resource", kind: instance, desired: vm, action: "create", reason: "not-in-state", text: "not yet created" },
  { name: "removed from the program", kind: instance, prior: vm, action: "delete", reason: "not-in-program" },
  { name: "nothing changed", kind: instance, prior: vm, desired: { ...vm }, action: "noop", reason: "unchanged", text: "no changes" },
  { name: "key order does not matter", kind: instance, prior: vm, desired: Object.fromEntries(Object.entries(vm).reverse()), action: "noop", reason: "unchanged" },
  { name: "power state changes in place", kind: instance, prior: vm, desired: { ...vm, powerState: "stopped" }, action: "update", reason: "in-place-fields-changed", fields: [["powerState", "in-place"]] },
  { name: "vcpu needs a restart", kind: instance, prior: vm, desired: { ...vm, vcpu: 12 }, action: "update-with-restart", reason: "restart-fields-changed", fields: [["vcpu", "restart"]], text: "vcpu changes and needs a restart" },
  { name: "vcpu and memory need a restart", kind: instance, prior: vm, desired: { ...vm, vcpu: 12, memoryGiB: 32 }, action: "update-with-restart", reason: "restart-fields-changed", text: "memoryGiB, vcpu change and need a restart" },
  { name: "an image change forces replacement", kind: instance, prior: vm, desired: { ...vm, image: { image: "img-1", variant: "heavy", digest: "sha256:b" } }, order: "create-before-delete", action: "replace", reason: "replace-fields-changed", fields: [["image.digest", "replace"]], text: "image.digest forces replacement" },
  { name: "replace wins over restart", kind: instance, prior: vm, desired: { ...vm, vcpu: 2, localDiskGiB: 80 }, order: "create-before-delete", action: "replace", reason: "replace-fields-changed", fields: [["localDiskGiB", "replace"], ["vcpu", "restart"]] },
  { name: "an unknown id in a replace field replaces", kind: instance, prior: vm, desired: { ...vm, cluster: UNKNOWN }, order: "create-before-delete", action: "replace", reason: "replace-fields-changed", fields: [["cluster", "replace"]] },
  { name: "replace requested with nothing changed", kind: instance, prior: vm, desired: vm, forceReplace: true, order: "create-before-delete", action: "replace", reason: "replace-requested", text: "replacement requested with --replace" },
  { name: "a nested in-place field (hosts.count)", kind: cluster, prior: hosts, desired: { ...hosts, hosts: { ...hosts.hosts, count: 6 } }, action: "update", reason: "in-place-fields-changed", fields: [["hosts.count", "in-place"]] },
  { name: "hypervisor forces replacement", kind: cluster, prior: hosts, desired: { ...hosts, hypervisor: "hosted" }, order: "create-before-delete", action: "replace", reason: "replace-fields-changed" },
  { name: "an optional field appearing is a change", kind: instance, prior: vm, desired: { ...vm, placement: "pack" }, action: "update", reason: "in-place-fields-changed", fields: [["placement", "in-place"]] },
  { name: "ignoreChanges hides a change", kind: instance, prior: vm, desired: { ...vm, vcpu: 12 }, ignoreChanges: ["vcpu"], action: "noop", reason: "unchanged" },
  { name: "ignoreChanges of a parent path covers nested fields", kind: instance, prior: vm, desired: { ...vm, image: { image: "img-1", variant: "heavy", digest: "sha256:b" } }, ignoreChanges: ["image"], action: "noop", reason: "unchanged" },
  { name: "ignoreChanges keeps other changes", kind: instance, prior: vm, desired: { ...vm, vcpu: 12, powerState: "stopped" }, ignoreChanges: ["vcpu"], action: "update", reason: "in-place-fields-changed", fields: [["powerState", "in-place"]] },
  { name: "replaceOnChanges turns an in-place change into a replacement", kind: instance, prior: vm, desired: { ...vm, powerState: "stopped" }, replaceOnChanges: ["powerState"], order: "create-before-delete", action: "replace", reason: "replace-fields-changed", fields: [["powerState", "replace"]] },
  { name: "replaceOnChanges on an unchanged field does nothing", kind: instance, prior: vm, desired: vm, replaceOnChanges: ["powerState"], action: "noop", reason: "unchanged" },
  { name: "deleteBeforeReplace sets the order", kind: instance, prior: vm, desired: { ...vm, localDiskGiB: 80 }, deleteBeforeReplace: true, order: "delete-before-create", action: "replace", reason: "replace-fields-changed" },
  { name: "a kind that must delete first (Attachment)", kind: attachment, prior: att, desired: { ...att, mode: "read-only" }, order: "delete-before-create", action: "replace", reason: "replace-fields-changed" },
  { name: "the kind's order by default", kind: instance, prior: vm, desired: { ...vm, localDiskGiB: 80 }, order: "create-before-delete", action: "replace", reason: "replace-fields-changed" },
];

describe("planResource", () => {
  for (const row of rows) {
    it(row.name, () => {
      const decision = planResource(
        row.prior ? { inputs: row.prior } : undefined,
        row.desired ? { inputs: row.desired } : undefined,
        row.kind,
        {
          forceReplace: row.forceReplace ?? false,
          ignoreChanges: row.ignoreChanges,
          replaceOnChanges: row.replaceOnChanges,
          deleteBeforeReplace: row.deleteBeforeReplace,
        },
      );
      expect(decision.action).toBe(row.action);
      expect(decision.reason).toBe(row.reason);
      if (row.fields) expect(decision.fields.map((f) => [f.path, f.behaviour])).toEqual(row.fields);
      if (row.text) expect(describeDecision(decision)).toBe(row.text);
      // Every replacement row names its order: the table, not the kind, is the expectation.
      if (row.action === "replace") expect(decision.replaceOrder).toBe(row.order);
    });
  }

  it("needs a prior or a desired state", () => {
    expect(() => planResource(undefined, undefined, instance)).toThrow("needs a prior state or a desired resource");
  });

  it("a field no kind classified is treated as forcing replacement", () => {
    expect(instance.changeBehaviour("somethingNew")).toBe("replace");
    expect(cluster.changeBehaviour("hosts.count")).toBe("in-place");
    expect(cluster.changeBehaviour("overcommit.cpu")).toBe("in-place");
  });
});
