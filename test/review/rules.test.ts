// Each risk rule fires where it should and stays silent where it should not. Plans are made by the
// engine's planner from two versions of a program, as `review --base` makes them.
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../core/model.ts";
import { makePlan } from "../../engine/plan.ts";
import type { CapacityChange } from "../../engine/render/capacity.ts";
import { stateFromProgram, withoutProtect } from "../../review/base.ts";
import { rules, type RuleContext } from "../../review/rules.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { kindInfo } from "../../sdk/kinds/index.ts";
import { secret, stack, type StackBuilder } from "../../sdk/index.ts";

interface Shape {
  pool?: "fast" | "slow";
  count?: number;
  packages?: string[];
  vcpu?: number;
  localDiskGiB?: number;
  antiAffinity?: boolean;
  protect?: boolean;
  attachMode?: "read-write" | "read-only";
  multiAttach?: boolean;
  userData?: string;
  output?: "volume" | "userData";
  /** Copies the user data into the image's config (a plain field). */
  leak?: boolean;
}

/** A small program whose every risky knob is a parameter. */
function program(shape: Shape) {
  return stack("shop", (s: StackBuilder) => {
    const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 1024 }] });
    const slow = s.storagePool("slow", { media: "hdd", devices: [{ sizeGiB: 1024 }] });
    const config = shape.leak && shape.userData ? { config: { bootToken: shape.userData } } : {};
    const image = s.image("app", { base: "debian-12", packages: shape.packages ?? ["tomcat10 (>= 10)"], ...config, variants: { light: {} } });
    const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 100 } });
    const app = web.instances("app", {
      count: shape.count ?? 2,
      image: image.variant("light"),
      vcpu: shape.vcpu ?? 2,
      memoryGiB: 4,
      localDiskGiB: shape.localDiskGiB ?? 10,
      ...(shape.antiAffinity === false ? {} : { placement: { antiAffinityGroup: "app" } }),
      ...(shape.userData ? { userData: secret(shape.userData) } : {}),
    });
    const data = (shape.pool === "slow" ? slow : fast).volume("data", { sizeGiB: 10, multiAttach: shape.multiAttach ?? true }, { protect: shape.protect ?? true });
    data.attachTo(app, { mode: shape.attachMode ?? "read-only" });
    if (shape.output === "userData") return { token: shape.userData ?? "" };
    return shape.output === "volume" ? { id: data.id } : undefined;
  });
}

function contextFor(base: Shape, head: Shape, extra: Partial<RuleContext> = {}): RuleContext {
  const b = evaluateStack(program(base));
  const h = evaluateStack(program(head));
  for (const e of [b, h]) expect(e.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const plan = makePlan(stateFromProgram(b), withoutProtect(h.resources), h.outputs, { kinds: kindInfo, secretOutputs: h.secretOutputs });
  const protectedAddresses = new Set([...b.resources, ...h.resources].filter((r) => r.options.protect).map((r) => r.address));
  return { plan, kinds: kindInfo, protectedAddresses, capacity: [], infeasible: [], locks: [], capacityThreshold: 0.85, ...extra };
}

const check = (id: string, context: RuleContext) => rules.find((r) => r.id === id)!.check(context).map((f) => `${f.address ?? "-"} ${f.path ?? "-"}: ${f.message}`);

describe("rules", () => {
  it("every rule has an id, a severity and an explanation", () => {
    for (const rule of rules) expect([rule.id, rule.severity, rule.explanation.length > 20]).toEqual([expect.stringMatching(/^[a-z-]+$/), expect.stringMatching(/^(error|warning|note)$/), true]);
  });

  it.each<[string, string, Shape, Shape, string[]]>([
    ["data-loss", "silent when nothing changes", {}, {}, []],
    ["data-loss", "a volume replaced by a pool change", { protect: false }, { pool: "slow", protect: false }, [expect.stringMatching(/^volume\.data pool: volume\.data is replaced .*10 GiB provisioned/) as unknown as string]],
    ["data-loss", "local disks wiped by a restart", {}, { vcpu: 4 }, ["instances.web/app[0] vcpu: local disk wiped: 10 GiB (update-with-restart)", "instances.web/app[1] vcpu: local disk wiped: 10 GiB (update-with-restart)"]],
    ["data-loss", "silent for an instance without local disk", { localDiskGiB: 0 }, { localDiskGiB: 0, vcpu: 4 }, []],
    ["downtime", "silent when the group grows", {}, { count: 3 }, []],
    ["downtime", "a scale-down deletes a member", { count: 3 }, { count: 2 }, ["instances.web/app[2] -: instances.web/app[2] is deleted (no longer in the program): the group serves with fewer instances"]],
    ["downtime", "anti-affinity dropped", {}, { antiAffinity: false }, expect.arrayContaining([expect.stringContaining('leaves anti-affinity group "app"')]) as unknown as string[]],
    ["supply-chain", "a package without a version constraint", {}, { packages: ["tomcat10 (>= 10)", "curl"] }, ["image.app packages: image.app packages: curl without a version constraint"]],
    ["supply-chain", "silent for constrained packages", {}, { packages: ["tomcat10 (>= 10)", "curl (>= 7)"] }, []],
    ["sharing", "two read-write attachments of a multi-attach volume", {}, { attachMode: "read-write" }, ["attachment.data@web/app[0] mode: volume.data is attached 2 times, 2 read-write: it needs a cluster filesystem"]],
    ["sharing", "silent for read-only sharing", {}, { count: 3 }, []],
    ["protection", "a data volume without protect", { protect: false }, { protect: false, multiAttach: false, count: 1 }, ["volume.data -: volume.data holds data but is not protected: add { protect: true } to its options"]],
    ["protection", "a protected volume the change replaces", {}, { pool: "slow" }, ["volume.data -: volume.data is protected: apply refuses to replace it until protect is removed"]],
    ["protection", "silent for a protected volume that changes in place", { multiAttach: true }, { multiAttach: true, count: 1 }, []],
    ["secrets", "a secret exported as an output", { userData: "token-123456" }, { userData: "token-123456", output: "userData" }, ["- -: output token exposes a secret: anyone who reads the stack's outputs can recover it"]],
    ["secrets", "a secret's value copied into a plain field", { userData: "token-123456" }, { userData: "token-123456", leak: true }, ["image.app config.bootToken: image.app config.bootToken holds the same value as the secret instances.web/app[0] userData, but config.bootToken is not a secret field"]],
    ["secrets", "silent for outputs without secrets", { userData: "token-123456" }, { userData: "token-123456", output: "volume" }, []],
  ])("%s: %s", (id, _what, base, head, expected) => {
    expect(check(id, contextFor(base, head))).toEqual(expected);
  });

  it("data-loss counts the bytes the backend holds on a local disk a restart wipes", () => {
    const written = new Map([["instances.web/app[0]", 3 * 1024 * 1024]]);
    expect(check("data-loss", contextFor({}, { vcpu: 4 }, { writtenBytes: written }))).toEqual([
      "instances.web/app[0] vcpu: local disk wiped: 10 GiB, 3 MiB written (update-with-restart)",
      "instances.web/app[1] vcpu: local disk wiped: 10 GiB (update-with-restart)",
    ]);
  });

  it("capacity: a pool above the threshold after the plan, and an infeasible plan", () => {
    const capacity: CapacityChange[] = [
      { id: "p1", owner: "pool.fast", measure: "provisioned", unit: "GiB", before: { used: 10, total: 100 }, after: { used: 90, total: 100 } },
      { id: "c1", owner: "cluster.web", measure: "vCPU", unit: "vCPU", before: { used: 10, total: 100 }, after: { used: 20, total: 100 } },
    ];
    const infeasible: Diagnostic[] = [{ severity: "error", address: "instances.web/app[1]", message: "no host has 64 GiB free" }];
    expect(check("capacity", contextFor({}, {}, { capacity, infeasible }))).toEqual([
      "- -: pool.fast provisioned: 90 of 100 GiB used after the plan (90%, above 85%)",
      "instances.web/app[1] -: the plan cannot be applied: no host has 64 GiB free",
    ]);
    expect(check("capacity", contextFor({}, {}, { capacity, capacityThreshold: 0.95 }))).toEqual([]);
  });
});
