// The emulator in-process, as the CLI and the HTTP API use it: capacity per hypervisor
// architecture, placement rules and their explanations, the VM lifecycle, restart, idempotency and
// rollback. Each test builds its own emulator; nothing is mocked.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { createInstance, failure, instanceSpec, setUp } from "./fixtures.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const tempDir = () => makeWorkdir("virtform-emulator-");
/** Event types after `since`, for asserting what happened and in which order. */
const eventsSince = (emulator: Emulator, since: number) => emulator.events(since).map((e) => e.type);
const lastSeq = (emulator: Emulator) => emulator.events().at(-1)?.seq ?? 0;

/** Creates 4-vCPU, 20-GiB instances until one does not fit; returns how many fit and the error. */
function fillUp(hypervisor: string) {
  const emulator = Emulator.inMemory();
  const made = setUp(emulator, { hypervisor, count: 4, vcpu: 16, memoryGiB: 64, localDiskGiB: 500 });
  let fitted = 0;
  for (;;) {
    try {
      createInstance(emulator, made, fitted, { vcpu: 4, memoryGiB: 20 });
      fitted++;
    } catch (err) {
      return { emulator, made, fitted, error: err as { code: string; message: string } };
    }
  }
}

describe("hypervisor architectures", () => {
  it("the same hosts take fewer VMs under hosted than under native", () => {
    const native = fillUp("native");
    const hosted = fillUp("hosted");
    const dual = fillUp("dual-mode");
    // native keeps 1 GiB per host (63 usable: 3 VMs); hosted keeps 2 vCPU and 6.4 GiB (57.6: 2 VMs).
    expect(native.fitted).toBe(12);
    expect(dual.fitted).toBe(12);
    expect(hosted.fitted).toBe(8);
    expect(hosted.error.code).toBe("capacity");
    expect(hosted.error.message).toBe(
      "no host of cluster cluster.web can take instances.web/app[8] (4 vCPU, 20 GiB memory, 10 GiB local disk): 4 of 4 hosts lack memory (need 20 GiB, max free 17.6 GiB)",
    );
  });

  it("the cluster's outputs show the reservation and what is left", () => {
    const outputs = (hypervisor: string) => {
      const emulator = Emulator.inMemory();
      const made = setUp(emulator, { hypervisor, count: 4, vcpu: 16, memoryGiB: 64, localDiskGiB: 500 });
      return emulator.get("Cluster", made.clusterId)!.outputs as { reservedPerHost: Record<string, number>; usable: Record<string, number> };
    };
    expect(outputs("native")).toMatchObject({ reservedPerHost: { vcpu: 0, memoryGiB: 1, localDiskGiB: 0 }, usable: { vcpu: 64, memoryGiB: 252, localDiskGiB: 2000 } });
    const hosted = outputs("hosted");
    expect(hosted.reservedPerHost).toMatchObject({ vcpu: 2, localDiskGiB: 20 });
    expect(hosted.reservedPerHost.memoryGiB).toBeCloseTo(6.4);
    expect(hosted.usable.vcpu).toBe(56);
    expect(hosted.usable.memoryGiB).toBeCloseTo(230.4);
    const dual = outputs("dual-mode");
    expect(dual.reservedPerHost).toMatchObject({ vcpu: 1, localDiskGiB: 8 });
    expect(dual.reservedPerHost.memoryGiB).toBeCloseTo(3.28);
  });

  it("dual-mode refuses memory overcommit; native and hosted accept it", () => {
    const emulator = Emulator.inMemory();
    const hosts = { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 };
    const error = failure(() => emulator.create("Cluster", { hypervisor: "dual-mode", hosts, overcommit: { memory: 1.5 } }, { name: "cluster.pv" }));
    expect(error.code).toBe("invalid");
    expect(error.message).toContain("overcommit.memory: dual-mode (paravirtualized) hosts cannot overcommit memory (got 1.5)");
    expect(emulator.list("Cluster")).toEqual([]);
    const native = emulator.create("Cluster", { hypervisor: "native", hosts, overcommit: { memory: 1.5 } }, { name: "cluster.n" });
    expect((native.outputs.usable as { memoryGiB: number }).memoryGiB).toBe(46.5);
    expect(emulator.create("Cluster", { hypervisor: "dual-mode", hosts, overcommit: { cpu: 4 } }, { name: "cluster.pv" }).outputs.usable).toMatchObject({ vcpu: 28 });
  });
});

describe("placement rules", () => {
  it("anti-affinity puts members on different hosts, then explains why the next cannot go anywhere", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 3 });
    const placement = { policy: "pack", antiAffinityGroup: "app" };
    const hosts = [0, 1, 2].map((i) => createInstance(emulator, made, i, { placement }).outputs.host);
    expect(new Set(hosts).size).toBe(3);
    const error = failure(() => createInstance(emulator, made, 3, { placement }));
    expect(error.code).toBe("capacity");
    expect(error.message).toBe(
      "no host of cluster cluster.web can take instances.web/app[3] (2 vCPU, 8 GiB memory, 10 GiB local disk): 3 of 3 hosts excluded by anti-affinity group app (each already runs a member)",
    );
    // Other groups are not affected.
    expect(createInstance(emulator, made, 4, { group: "db" }).outputs.state).toBe("running");
  });

  it("maxPerHost caps members of the group per host, with memory named too", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 3 });
    emulator.create("Instance", { ...instanceSpec(made, 0), group: "big", memoryGiB: 60 }, { name: "instances.web/big[0]" });
    const placement = { policy: "pack", maxPerHost: 2 };
    const hosts = [0, 1, 2, 3].map((i) => createInstance(emulator, made, i, { placement }).outputs.host);
    expect(hosts.filter((h) => h === hosts[0])).toHaveLength(2);
    expect(new Set(hosts).size).toBe(2);
    expect(failure(() => createInstance(emulator, made, 4, { placement })).message).toContain(
      "1 of 3 hosts lacks memory (need 8 GiB, max free 3 GiB); 2 of 3 hosts excluded by maxPerHost 2 (each already runs 2 of group app)",
    );
  });

  it("affinity keeps the group on one host", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 3 });
    const hosts = [0, 1, 2].map((i) => createInstance(emulator, made, i, { placement: { affinityGroup: "cache" } }).outputs.host);
    expect(new Set(hosts).size).toBe(1);
  });

  it("new placement rules need a restart, and the restart moves the instance when its host breaks them", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 2 });
    const a = createInstance(emulator, made, 0, { placement: { policy: "pack" } });
    const b = createInstance(emulator, made, 1, { placement: { policy: "pack" } });
    expect(b.outputs.host).toBe(a.outputs.host);
    const spread = { ...instanceSpec(made, 1), placement: { policy: "pack", antiAffinityGroup: "app" } };
    expect(failure(() => emulator.update("Instance", b.id, spread, { restart: false })).message).toBe(
      "changing placement.antiAffinityGroup of instance instances.web/app[1] needs a restart",
    );
    // a's rule and then b's: b moves away from a
    emulator.update("Instance", a.id, { ...instanceSpec(made, 0), placement: { policy: "pack", antiAffinityGroup: "app" } }, { restart: true });
    const since = lastSeq(emulator);
    const moved = emulator.update("Instance", b.id, spread, { restart: true });
    expect(moved.outputs.host).not.toBe(a.outputs.host);
    expect(eventsSince(emulator, since)).toEqual(["instance.stopped", "instance.local-disk-wiped", "instance.migrated", "instance.started", "instance.updated"]);
  });
});

describe("instance lifecycle", () => {
  it("pending -> running <-> stopped, reboot, terminate; illegal transitions are conflicts", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator);
    let since = lastSeq(emulator);
    const vm = createInstance(emulator, made, 0);
    expect(vm.outputs.state).toBe("running");
    expect(eventsSince(emulator, since)).toEqual(["instance.pending", "instance.placed", "instance.started", "instance.created"]);

    since = lastSeq(emulator);
    expect(emulator.instanceAction(vm.id, "reboot").outputs.state).toBe("running");
    expect(eventsSince(emulator, since)).toEqual(["instance.rebooted"]); // the local disk survives a reboot

    since = lastSeq(emulator);
    const stopped = emulator.instanceAction(vm.id, "stop");
    expect(stopped.outputs.state).toBe("stopped");
    expect(stopped.spec.powerState).toBe("stopped"); // the engine's refresh sees the drift
    expect(eventsSince(emulator, since)).toEqual(["instance.stopped", "instance.local-disk-wiped"]);

    since = lastSeq(emulator);
    expect(emulator.instanceAction(vm.id, "stop").outputs.state).toBe("stopped"); // a retried stop is harmless
    expect(eventsSince(emulator, since)).toEqual([]);
    const reboot = failure(() => emulator.instanceAction(vm.id, "reboot"));
    expect(reboot).toMatchObject({ code: "conflict", message: `instance instances.web/app[0] (${vm.id}) is stopped: only a running instance can reboot; start it instead` });

    expect(emulator.instanceAction(vm.id, "start").outputs).toMatchObject({ state: "running", host: vm.outputs.host });

    since = lastSeq(emulator);
    emulator.delete("Instance", vm.id);
    expect(eventsSince(emulator, since)).toEqual(["instance.stopped", "instance.local-disk-wiped", "instance.terminated", "instance.deleted"]);
    expect(emulator.get("Instance", vm.id)).toBeNull();
    for (const action of ["start", "stop", "reboot"] as const) {
      expect(failure(() => emulator.instanceAction(vm.id, action))).toMatchObject({
        code: "conflict",
        message: `instance instances.web/app[0] (${vm.id}) is terminated and cannot ${action}`,
      });
    }
    expect(failure(() => emulator.instanceAction("i-ffffff", "start"))).toMatchObject({ code: "not-found" });
    // It stays visible as terminated, but not among the live instances, and holds no capacity.
    const inspect = emulator.inspect();
    expect(inspect.instances).toEqual({});
    expect(inspect.terminated[vm.id]).toMatchObject({ state: "terminated", name: "instances.web/app[0]" });
  });

  it("attaching a volume to a terminated instance is a conflict; terminate detached its volumes", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator);
    const pool = emulator.create("StoragePool", { media: "ssd", devices: [{ sizeGiB: 100 }] }, { name: "pool.fast" });
    const volume = emulator.create("Volume", { pool: pool.id, sizeGiB: 10 }, { name: "volume.data" });
    const vm = createInstance(emulator, made, 0);
    emulator.create("Attachment", { volume: volume.id, instance: vm.id }, { name: "attachment.data@web/app[0]" });
    emulator.delete("Instance", vm.id);
    expect(emulator.list("Attachment")).toEqual([]);
    const error = failure(() => emulator.create("Attachment", { volume: volume.id, instance: vm.id }, { name: "attachment.again" }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain(`instance instances.web/app[0] (${vm.id}) is terminated`);
  });

  it("a created-stopped instance holds its place and starts on the same host", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 1, memoryGiB: 12 }); // 11 GiB usable
    const vm = createInstance(emulator, made, 0, { powerState: "stopped" });
    expect(vm.outputs.state).toBe("stopped");
    expect(failure(() => createInstance(emulator, made, 1)).message).toContain("1 of 1 hosts lacks memory (need 8 GiB, max free 3 GiB)");
    expect(emulator.instanceAction(vm.id, "start").outputs).toEqual({ state: "running", host: vm.outputs.host });
  });

  it("a power state change through update is in place; vcpu or memory need a restart", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator);
    const vm = createInstance(emulator, made, 0);
    expect(emulator.update("Instance", vm.id, instanceSpec(made, 0, { powerState: "stopped" }), { restart: false }).outputs.state).toBe("stopped");
    expect(failure(() => emulator.update("Instance", vm.id, instanceSpec(made, 0, { vcpu: 4 }), { restart: false }))).toMatchObject({
      code: "invalid",
      message: "changing vcpu of instance instances.web/app[0] needs a restart",
    });
    expect(failure(() => emulator.update("Instance", vm.id, instanceSpec(made, 0, { localDiskGiB: 20 }), { restart: true })).message).toBe(
      "localDiskGiB of instance instances.web/app[0] change only by replacing the instance",
    );
    const since = lastSeq(emulator);
    const resized = emulator.update("Instance", vm.id, instanceSpec(made, 0, { vcpu: 4, memoryGiB: 12 }), { restart: true });
    expect(resized.outputs).toMatchObject({ state: "running", host: vm.outputs.host });
    // it was stopped, so only the resize and the start happen
    expect(eventsSince(emulator, since)).toEqual(["instance.resized", "instance.started", "instance.updated"]);
  });

  it("a resize migrates when the host lacks room, and a resize that fits nowhere changes nothing", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator, { count: 2 });
    const pack = { policy: "pack" };
    const a = createInstance(emulator, made, 0, { placement: pack });
    createInstance(emulator, made, 1, { placement: pack, memoryGiB: 40 }); // joins a: 15 GiB left there
    let since = lastSeq(emulator);
    const bigger = emulator.update("Instance", a.id, instanceSpec(made, 0, { placement: pack, memoryGiB: 30 }), { restart: true });
    expect(bigger.outputs.host).not.toBe(a.outputs.host);
    expect(eventsSince(emulator, since)).toEqual([
      "instance.stopped",
      "instance.local-disk-wiped",
      "instance.migrated",
      "instance.resized",
      "instance.started",
      "instance.updated",
    ]);

    since = lastSeq(emulator);
    const before = emulator.inspect();
    const error = failure(() => emulator.update("Instance", a.id, instanceSpec(made, 0, { placement: pack, memoryGiB: 70 }), { restart: true }));
    expect(error.code).toBe("capacity");
    expect(error.message).toContain("2 of 2 hosts lack memory (need 70 GiB, max free 63 GiB)");
    expect(emulator.inspect()).toEqual(before);
    expect(eventsSince(emulator, since)).toEqual([]);
    expect(emulator.get("Instance", a.id)!.outputs).toEqual({ state: "running", host: bigger.outputs.host });
  });
});

describe("persistence, idempotency and rollback", () => {
  // An emulator on disk is closed after its test: its data plane otherwise goes on making the hosts'
  // directories after the test's directory was removed (it was left behind in /tmp, every run).
  const opened: Emulator[] = [];
  const open = (dir: string) => {
    const emulator = Emulator.open(dir);
    opened.push(emulator);
    return emulator;
  };
  afterEach(async () => {
    for (const emulator of opened.splice(0)) await emulator.close();
  });
  it("a reopened emulator has every object as before; running instances still run", () => {
    const dir = tempDir();
    const first = open(dir);
    const made = setUp(first, { count: 3 });
    const running = createInstance(first, made, 0, { placement: { antiAffinityGroup: "app" } });
    const stopped = createInstance(first, made, 1, { placement: { antiAffinityGroup: "app" } });
    const gone = createInstance(first, made, 2);
    first.instanceAction(stopped.id, "stop");
    first.delete("Instance", gone.id);
    const before = { inspect: first.inspect(), events: first.events() };

    const second = open(dir);
    expect(second.inspect()).toEqual(before.inspect);
    expect(second.events()).toEqual(before.events);
    expect(second.get("Instance", running.id)!.outputs.state).toBe("running");
    expect(second.get("Instance", stopped.id)!.outputs.state).toBe("stopped");
    expect(failure(() => second.instanceAction(gone.id, "start")).code).toBe("conflict");
    // Placement rules still hold after the restart, and new ids do not collide with old ones.
    const third = createInstance(second, made, 3, { placement: { antiAffinityGroup: "app" } });
    expect([running.id, stopped.id, gone.id]).not.toContain(third.id);
    expect(third.outputs.host).not.toBe(running.outputs.host);
    expect(third.outputs.host).not.toBe(stopped.outputs.host);
  });

  it("a create retried with the same idempotency token returns the same object", () => {
    const emulator = Emulator.inMemory();
    const made = setUp(emulator);
    const first = emulator.create("Instance", instanceSpec(made, 0), { name: "instances.web/app[0]", token: "tok-1" });
    const events = emulator.events().length;
    const again = emulator.create("Instance", instanceSpec(made, 0), { name: "instances.web/app[0]", token: "tok-1" });
    expect(again).toEqual(first);
    expect(emulator.list("Instance")).toHaveLength(1);
    expect(emulator.events()).toHaveLength(events);
  });

  it("a failed create leaves nothing behind, in memory or on disk", () => {
    const dir = tempDir();
    const emulator = open(dir);
    const made = setUp(emulator, { count: 1 });
    createInstance(emulator, made, 0, { placement: { antiAffinityGroup: "app" } });
    const file = readFileSync(join(dir, "emulator.json"), "utf8");
    const before = { inspect: emulator.inspect(), events: emulator.events() };
    for (const extra of [{ placement: { antiAffinityGroup: "app" } }, { memoryGiB: 100 }, { image: { ...made.image, digest: "sha256:nope" } }]) {
      const error = failure(() => createInstance(emulator, made, 1, extra));
      expect(["capacity", "conflict", "invalid"]).toContain(error.code);
      expect(emulator.inspect()).toEqual(before.inspect);
      expect(emulator.events()).toEqual(before.events);
      expect(readFileSync(join(dir, "emulator.json"), "utf8")).toBe(file);
    }
    expect(open(dir).inspect()).toEqual(before.inspect);
  });
});
