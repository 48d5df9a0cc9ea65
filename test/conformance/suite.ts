// One conformance suite every backend runs (as Terraform's statemgr.TestFull): lifecycle of every
// kind through plan and apply, the Backend seam itself, the storage semantics of the seed (local
// disks, volume bytes, multi-attach, read-only), grow and shrink rules, capacity and placement
// refusals, drift made behind virtform's back, and convergence after a run killed at a state record.
// Each test opens a world of its own (target.ts) and drives it through `virtform` in process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStateStore } from "../../engine/state-file.ts";
import type { State } from "../../engine/state.ts";
import { isNotFound } from "../../provider/backend.ts";
import { TAG } from "../../provider/virtform-provider.ts";
import { kinds, type KindName } from "../../sdk/kinds/index.ts";
import { virtform, virtformProcess } from "./cli.ts";
import type { ConformanceTarget, ConformanceWorld, Revision } from "./target.ts";

const MiB = 1024 * 1024;
const STACK = "conformance";
const KINDS = Object.keys(kinds) as KindName[];

/** A program of the stack: `web` (cluster), `fast` (pool) and `img` (image) declared by the target, then `body`. */
function program(world: ConformanceWorld, body: string, revision: Revision = 1): string {
  const d = world.declarations;
  return `import { stack } from "virtform";
export default stack(${JSON.stringify(STACK)}, (s) => {
  const web = ${d.cluster("web", revision)};
  const fast = ${d.pool("fast", revision)};
  const img = ${d.image("app", revision)};
${body}
});
`;
}

function write(world: ConformanceWorld, body: string, revision: Revision = 1): void {
  writeFileSync(join(world.dir, "infra.ts"), program(world, body, revision));
}

async function run(world: ConformanceWorld, args: string[]) {
  const result = await virtform(world, args);
  return { ...result, output: result.stdout + result.stderr };
}

/** Writes the program and applies it; it must succeed. */
async function apply(world: ConformanceWorld, body: string, revision: Revision = 1): Promise<State> {
  write(world, body, revision);
  const applied = await run(world, ["apply", "--yes"]);
  expect(applied.code, applied.output).toBe(0);
  return state(world);
}

/** `plan --detailed-exitcode`: 0 no changes, 2 changes, 1 refused. */
async function plan(world: ConformanceWorld) {
  return run(world, ["plan", "--detailed-exitcode"]);
}

async function expectNoChanges(world: ConformanceWorld): Promise<void> {
  const planned = await plan(world);
  expect(planned.code, planned.output).toBe(0);
}

function state(world: ConformanceWorld): State {
  return new FileStateStore(join(world.dir, ".virtform", "state", `${STACK}.json`), STACK).loadSync();
}

function idOf(s: State, address: string): string {
  const resource = s.resources[address];
  if (!resource) throw new Error(`state holds no ${address} (it holds ${Object.keys(s.resources).join(", ")})`);
  return resource.id;
}

/**
 * Every object the world's backend holds, as "Kind address" sorted: by the address it is tagged
 * with, else (not virtform's, or an orphan that lost its tags) by its name and "untagged".
 */
async function backendObjects(world: ConformanceWorld): Promise<string[]> {
  const found: string[] = [];
  for (const kind of KINDS) {
    for (const object of await world.backend.list!(kind)) {
      const owner = object.tags?.[TAG.stack] === STACK ? object.tags[TAG.address] : undefined;
      found.push(`${kind} ${owner ?? `${object.name} (untagged)`}`);
    }
  }
  return found.sort();
}

function stateObjects(s: State): string[] {
  return Object.entries(s.resources)
    .map(([address, r]) => `${r.kind} ${address}`)
    .sort();
}

const filled = (byte: number, length: number) => Buffer.alloc(length, byte);

/** An instance group `name` (and a const of that name): `count` instances of 1 vCPU, 1 GiB and a 64 MiB local disk, with `fields` (source text) changed or added. */
function group(name: string, count: number, fields: Record<string, string> = {}): string {
  const all = { image: `img.variant("light")`, vcpu: "1", memoryGiB: "1", localDiskGiB: "0.0625", ...fields };
  return `  const ${name} = web.instances(${JSON.stringify(name)}, { count: ${count}, ${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join(", ")} });`;
}

export function backendConformance(target: ConformanceTarget): void {
  /** DSL attaching the volume `volume` (a const) to an instance of its own, for a target whose volumes get bytes only then (target.ts). */
  const holder = (volume: string) => (target.volumeBytesAfterAttach ? `\n${group("holder", 1)}\n  ${volume}.attachTo(holder);` : "");
  describe(`backend conformance: ${target.name}`, () => {
    const worlds: ConformanceWorld[] = [];
    const open = async () => {
      const world = await target.open();
      worlds.push(world);
      return world;
    };
    afterEach(async () => {
      for (const world of worlds.splice(0)) await world.dispose();
    });

    it("creates, updates in place and destroys every kind through plan and apply, and a second plan changes nothing", async () => {
      const world = await open();
      // Revision 2: the target's cluster, pool and image changed in place; the volume grown, the
      // snapshot unprotected, the instance resized (a restart), the attachment made read-only (a replacement).
      const body = (revision: Revision) => `${group("app", 1, { vcpu: revision === 2 ? "2" : "1" })}
  const data = fast.volume("data", { sizeGiB: ${revision === 2 ? 0.25 : 0.125} });
  data.snapshot("snap", { deleteProtection: ${revision === 1} });
  data.attachTo(app, { mode: "${revision === 2 ? "read-only" : "read-write"}" });`;
      const first = await apply(world, body(1));
      await expectNoChanges(world);
      expect(await backendObjects(world)).toEqual(stateObjects(first));
      for (const [address, resource] of Object.entries(first.resources)) {
        const object = await world.backend.get(resource.kind as KindName, resource.id);
        expect(object, address).not.toBeNull();
        expect(object!.tags?.[TAG.address]).toBe(address);
      }

      const second = await apply(world, body(2), 2);
      await expectNoChanges(world);
      for (const address of ["cluster.web", "pool.fast", "image.app", "volume.data", "snapshot.snap", "instances.web/app[0]"]) {
        expect(idOf(second, address), `${address} is updated, not replaced`).toBe(idOf(first, address));
      }
      const seen = async (kind: KindName, address: string) => (await world.backend.get(kind, idOf(second, address)))!;
      expect((await seen("Volume", "volume.data")).spec.sizeGiB).toBe(0.25);
      expect((await seen("Snapshot", "snapshot.snap")).spec.deleteProtection).toBe(false);
      expect((await seen("Instance", "instances.web/app[0]")).spec.vcpu).toBe(2);
      expect((await seen("Instance", "instances.web/app[0]")).outputs.state).toBe("running");
      expect(Object.keys((await seen("Image", "image.app")).outputs.variants as object).sort()).toEqual(["heavy", "light"]);
      expect((await seen("Attachment", "attachment.data@web/app[0]")).spec.mode).toBe("read-only");
      expect(await backendObjects(world)).toEqual(stateObjects(second));

      const destroyed = await run(world, ["destroy", "--yes"]);
      expect(destroyed.code, destroyed.output).toBe(0);
      expect(await backendObjects(world)).toEqual([]);
      for (const resource of Object.values(second.resources)) expect(await world.backend.get(resource.kind as KindName, resource.id)).toBeNull();
    });

    it("keeps the Backend contract: idempotent create by token, reads, lists by tag, tags, written bytes, updates, restarts, rehearsals and deletes", async () => {
      const world = await open();
      const base = await apply(world, group("app", 2));
      const { backend } = world;
      const pool = idOf(base, "pool.fast");
      const instance = idOf(base, "instances.web/app[0]");
      const tags = { [TAG.stack]: "seam", [TAG.lineage]: "l-1", [TAG.address]: "volume.v" };
      const volume = await backend.create("Volume", { pool, sizeGiB: 0.0625 }, { name: "volume.v", token: "seam-1", tags });
      expect((await backend.create("Volume", { pool, sizeGiB: 0.0625 }, { name: "volume.v", token: "seam-1", tags })).id).toBe(volume.id);
      expect((await backend.getByToken!("Volume", "seam-1"))?.id).toBe(volume.id);
      expect(await backend.getByToken!("Volume", "seam-unused")).toBeNull();
      expect((await backend.get("Volume", volume.id))?.spec).toMatchObject({ pool, sizeGiB: 0.0625 });
      expect((await backend.list!("Volume", { tags: { [TAG.stack]: "seam" } })).map((v) => v.id)).toEqual([volume.id]);
      expect(await backend.list!("Volume", { tags: { [TAG.stack]: "nobody" } })).toEqual([]);
      expect((await backend.setTags!("Volume", volume.id, { team: "x" })).tags).toEqual({ team: "x" });
      const attach = () => backend.create("Attachment", { volume: volume.id, instance }, { name: "attachment.v", token: "seam-3" });
      if (target.volumeBytesAfterAttach) await attach(); // the same attachment as below's (one token)

      // What the review's data-loss findings read: the bytes a volume and its snapshot hold.
      await world.bytes.writeVolume(volume.id, 0, filled(0x3c, 64 * 1024));
      const snapshot = await backend.create("Snapshot", { volume: volume.id }, { name: "snapshot.s", token: "seam-2" });
      expect(snapshot.outputs).toMatchObject({ pool, sizeGiB: 0.0625 });
      expect(await backend.writtenBytes!("Volume", volume.id)).toBeGreaterThanOrEqual(64 * 1024);
      expect(await backend.writtenBytes!("Snapshot", snapshot.id)).toBeGreaterThanOrEqual(64 * 1024);
      const grown = await backend.update("Volume", volume.id, { pool, sizeGiB: 0.125, multiAttach: false, deleteProtection: false }, { restart: false });
      expect(grown.spec.sizeGiB).toBe(0.125);
      const attachment = await attach();
      expect(attachment.outputs.device).toMatch(/^vd[b-z]$/);
      const other = idOf(base, "instances.web/app[1]");
      await expect(backend.create("Attachment", { volume: volume.id, instance: other }, { name: "attachment.w", token: "seam-5" }), "a single-attach volume").rejects.toThrow(
        /multi-?attach/i,
      );
      await expect(backend.update("Volume", "vol-ffffff", { pool, sizeGiB: 1 }, { restart: false })).rejects.toSatisfy(isNotFound);
      await expect(backend.delete("Volume", volume.id), "an attached volume is not deleted").rejects.toThrow(/attach/);
      await backend.update("Snapshot", snapshot.id, { volume: volume.id, deleteProtection: true }, { restart: false });
      await expect(backend.delete("Snapshot", snapshot.id), "a protected snapshot is not deleted").rejects.toThrow(/protection/);
      await backend.update("Snapshot", snapshot.id, { volume: volume.id, deleteProtection: false }, { restart: false });
      await backend.delete("Attachment", attachment.id);
      await backend.delete("Volume", volume.id);
      expect(await backend.get("Volume", volume.id)).toBeNull();
      expect(await backend.writtenBytes!("Snapshot", snapshot.id), "a snapshot keeps its bytes when its volume goes").toBeGreaterThanOrEqual(64 * 1024);
      await backend.delete("Snapshot", snapshot.id);

      // A resize is a restart, which the caller must allow; a rehearsal is a copy the backend never sees.
      const running = (await backend.get("Instance", instance))!;
      await expect(backend.update("Instance", instance, { ...running.spec, vcpu: 2 }, { restart: false })).rejects.toThrow(/restart/);
      expect((await backend.update("Instance", instance, { ...running.spec, vcpu: 2 }, { restart: true })).outputs.state).toBe("running");
      const rehearsal = await backend.rehearsal();
      await rehearsal.delete("Instance", instance);
      const tried = await rehearsal.create("Volume", { pool, sizeGiB: 0.0625 }, { name: "volume.tried", token: "seam-4" });
      await rehearsal.dispose();
      expect(await backend.get("Instance", instance)).not.toBeNull();
      expect(await backend.getByToken!("Volume", "seam-4")).toBeNull();
      expect((await backend.list!("Volume")).map((v) => v.id)).not.toContain(tried.id);

      const again = await backend.delete("Volume", volume.id).then(
        () => "deleted twice",
        (err: unknown) => (isNotFound(err) ? "not-found" : String(err)),
      );
      expect(again).toBe("not-found");
    });

    it("keeps a local disk through a reboot and loses it on stop and on terminate", async () => {
      const world = await open();
      const { bytes, outOfBand } = world;
      const first = idOf(await apply(world, group("app", 1)), "instances.web/app[0]");
      await bytes.writeDisk(first, "local", 0, filled(0x5a, 64 * 1024));
      // What the review's data-loss findings say a stop or a replacement would wipe.
      expect(await world.backend.writtenBytes!("Instance", first)).toBeGreaterThanOrEqual(64 * 1024);
      await outOfBand.power(first, "reboot");
      expect((await bytes.readDisk(first, "local", 0, 64 * 1024)).equals(filled(0x5a, 64 * 1024))).toBe(true);
      await outOfBand.power(first, "stop");
      await expect(bytes.readDisk(first, "local", 0, 512), "a stopped instance's disk is not reachable").rejects.toThrow(/stopped/);
      await outOfBand.power(first, "start");
      expect((await bytes.readDisk(first, "local", 0, 64 * 1024)).equals(filled(0, 64 * 1024))).toBe(true);

      await bytes.writeDisk(first, "local", 0, filled(0x6b, 4096));
      const replaced = await run(world, ["apply", "--yes", "--replace", "instances.web/app[0]"]);
      expect(replaced.code, replaced.output).toBe(0);
      const second = idOf(state(world), "instances.web/app[0]");
      expect(second).not.toBe(first);
      await expect(bytes.readDisk(first, "local", 0, 512), "a terminated instance has no disk").rejects.toThrow(/terminated|not found|does not exist|no instance/i);
      expect((await bytes.readDisk(second, "local", 0, 4096)).equals(filled(0, 4096))).toBe(true);
    });

    it("keeps a volume's bytes across detach, the delete of the instance holding it and a backend restart", async () => {
      const world = await open();
      const { bytes } = world;
      const attachedTo = (instance?: string) =>
        `${group("a", 1)}\n${group("b", 1)}\n  const data = fast.volume("data", { sizeGiB: 0.125 });${instance ? `\n  data.attachTo(${instance});` : ""}`;
      const s = await apply(world, attachedTo("a"));
      const [a, b, data] = [idOf(s, "instances.web/a[0]"), idOf(s, "instances.web/b[0]"), idOf(s, "volume.data")];
      const written = filled(0xab, 64 * 1024);
      await bytes.writeDisk(a, { volume: data }, MiB, written);
      const kept = async (why: string) => expect((await bytes.readVolume(data, MiB, written.length)).equals(written), why).toBe(true);
      await apply(world, attachedTo());
      await kept("after the detach");
      // Attached to b (a single-attach volume moves in two applies: the plan refuses to attach it
      // to b while it is still attached to a), b sees what a wrote.
      await apply(world, attachedTo("b"));
      expect((await bytes.readDisk(b, { volume: data }, MiB, written.length)).equals(written)).toBe(true);
      // b terminated while the volume is attached: the volume outlives it.
      await world.outOfBand.deleteInstance(b);
      await kept("after the delete of the instance holding it");
      await world.restart();
      await kept("after a backend restart");
      // Everything else survived the restart: the plan makes b and its attachment again, nothing more.
      const planned = await plan(world);
      expect(planned.code, planned.output).toBe(2);
      expect(planned.output).toContain("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete");
      expect(planned.output).toContain("instances.web/b[0] will be created");
    });

    it("attaches a volume to several instances only when it allows it, and refuses writes through a read-only attachment", async () => {
      const world = await open();
      const { bytes } = world;
      write(world, `${group("app", 2)}\n  const data = fast.volume("data", { sizeGiB: 0.125 });\n  data.attachTo(app);`);
      const refused = await plan(world);
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toMatch(/infra\.ts:\d+: attachment\.data@web\/app\[1\]: .*volume\.data.*multi-?attach/i);

      const s = await apply(
        world,
        `${group("rw", 1)}\n${group("ro", 1)}\n  const shared = fast.volume("shared", { sizeGiB: 0.125, multiAttach: true });\n  shared.attachTo(rw);\n  shared.attachTo(ro, { mode: "read-only" });`,
      );
      const [rw, ro, shared] = [idOf(s, "instances.web/rw[0]"), idOf(s, "instances.web/ro[0]"), idOf(s, "volume.shared")];
      await bytes.writeDisk(rw, { volume: shared }, 0, filled(0xcd, 8192));
      expect((await bytes.readDisk(ro, { volume: shared }, 0, 8192)).equals(filled(0xcd, 8192))).toBe(true);
      await expect(bytes.writeDisk(ro, { volume: shared }, 0, filled(0x11, 512))).rejects.toThrow(/read-only/);
      expect((await bytes.readVolume(shared, 0, 8192)).equals(filled(0xcd, 8192)), "the refused write changed nothing").toBe(true);
    });

    it("grows a volume in place, keeping its bytes, and refuses to shrink it", async () => {
      const world = await open();
      const { bytes } = world;
      const volume = (sizeGiB: number) => `  const data = fast.volume("data", { sizeGiB: ${sizeGiB} });${holder("data")}`;
      const data = idOf(await apply(world, volume(0.125)), "volume.data");
      await bytes.writeVolume(data, 0, filled(0xee, 4096));
      write(world, volume(0.25));
      const grown = await run(world, ["apply", "--yes"]);
      expect(grown.code, grown.output).toBe(0);
      expect(grown.output).toContain("volume.data will be updated in place");
      expect(idOf(state(world), "volume.data")).toBe(data);
      expect(await bytes.volumeSize(data)).toBe(256 * MiB);
      expect((await bytes.readVolume(data, 0, 4096)).equals(filled(0xee, 4096))).toBe(true);
      await bytes.writeVolume(data, 200 * MiB, filled(0x42, 4096)); // beyond the old end
      expect((await bytes.readVolume(data, 200 * MiB, 4096)).equals(filled(0x42, 4096))).toBe(true);

      write(world, volume(0.125));
      const shrink = await plan(world);
      expect(shrink.code, shrink.output).toBe(1);
      expect(shrink.output).toMatch(/infra\.ts:\d+: volume\.data: .*shrink/);
      expect(await bytes.volumeSize(data)).toBe(256 * MiB);
    });

    it("snapshots a volume's bytes at a moment and clones a larger volume from the snapshot, each moving on alone", async () => {
      const world = await open();
      const { bytes } = world;
      const data = idOf(await apply(world, `  const data = fast.volume("data", { sizeGiB: 0.125 });${holder("data")}`), "volume.data");
      await bytes.writeVolume(data, 0, filled(0xaa, 4096));
      const s = await apply(
        world,
        `  const data = fast.volume("data", { sizeGiB: 0.125 });${holder("data")}\n  const snap = data.snapshot("snap");\n  fast.volume("copy", { sizeGiB: 0.25, source: snap });`,
      );
      const copy = idOf(s, "volume.copy");
      await bytes.writeVolume(data, 0, filled(0xbb, 4096));
      expect((await bytes.readVolume(copy, 0, 4096)).equals(filled(0xaa, 4096)), "the clone holds the snapshot's moment").toBe(true);
      expect(await bytes.volumeSize(copy)).toBe(256 * MiB);
      await bytes.writeVolume(copy, 0, filled(0xcc, 4096));
      expect((await bytes.readVolume(data, 0, 4096)).equals(filled(0xbb, 4096)), "the clone's writes stay its own").toBe(true);
      expect(await world.backend.writtenBytes!("Snapshot", idOf(s, "snapshot.snap"))).toBeGreaterThanOrEqual(4096);
    });

    it("refuses what the hosts and the pool cannot hold, naming the resource, and makes nothing", async () => {
      const world = await open();
      const base = await apply(world, "");
      const cluster = (await world.backend.get("Cluster", idOf(base, "cluster.web")))!;
      const pool = (await world.backend.get("StoragePool", idOf(base, "pool.fast")))!;
      const hosts = (cluster.outputs.hostIds as string[]).length;
      const usable = cluster.outputs.usable as { memoryGiB: number };
      const perHostMemory = usable.memoryGiB / hosts;
      // The plan's capacity section: what the cluster and the pool offer, as their outputs say.
      const rows = await world.backend.capacity!();
      expect(rows.find((r) => r.id === cluster.id && r.measure === "memory")).toMatchObject({ used: 0, total: usable.memoryGiB });
      expect(rows.find((r) => r.id === pool.id)).toMatchObject({ used: 0, total: pool.outputs.provisionableGiB });
      // One plan asks for an instance larger than any host, one anti-affine member more than there
      // are hosts, and a volume larger than the pool provisions: each is refused, with its line.
      write(
        world,
        `${group("huge", 1, { memoryGiB: String(Math.floor(perHostMemory) + 1) })}
${group("spread", hosts + 1, { placement: `{ antiAffinityGroup: "one-per-host" }` })}
  fast.volume("big", { sizeGiB: ${(pool.outputs.provisionableGiB as number) + 1} });`,
      );
      const planned = await plan(world);
      expect(planned.code, planned.output).toBe(1);
      expect(planned.output).toMatch(/infra\.ts:\d+: instances\.web\/huge\[0\]: .*memory/);
      expect(planned.output).toMatch(/infra\.ts:\d+: instances\.web\/spread\[\d\]: .*anti-affinity/);
      expect(planned.output).toMatch(/infra\.ts:\d+: volume\.big: .*(provision|capacity)/);
      expect(await backendObjects(world)).toEqual(stateObjects(base));
    });

    it("shows drift made behind virtform's back in the plan, and the next apply converges", async () => {
      const world = await open();
      const { outOfBand } = world;
      const body = (sizeGiB: number) => `${group("app", 2)}\n  const data = fast.volume("data", { sizeGiB: ${sizeGiB} });${holder("data")}`;
      const s = await apply(world, body(0.125));
      await outOfBand.deleteInstance(idOf(s, "instances.web/app[0]"));
      await outOfBand.power(idOf(s, "instances.web/app[1]"), "stop");
      await outOfBand.resizeVolume(idOf(s, "volume.data"), 0.25);
      // The plan shows each drift and what repairs it; undoing the growth would shrink the volume,
      // which is refused, naming it.
      const planned = await plan(world);
      expect(planned.code, planned.output).toBe(1);
      expect(planned.output).toContain("instances.web/app[0] was deleted outside virtform");
      expect(planned.output).toContain("instances.web/app[0] will be created");
      expect(planned.output).toMatch(/instances\.web\/app\[1\] was changed outside virtform\n(\s+~ .*\n)*?\s+~ (powerState|\(output\) state): "running" -> "stopped"/);
      expect(planned.output).toMatch(/volume\.data was changed outside virtform\n\s+~ sizeGiB: 0\.125 -> 0\.25/);
      expect(planned.output).toMatch(/volume\.data: .*cannot shrink/);
      // The program follows the volume's growth; the rest is repaired.
      const repaired = await apply(world, body(0.25));
      await expectNoChanges(world);
      expect((await world.backend.get("Instance", idOf(repaired, "instances.web/app[1]")))!.outputs.state).toBe("running");
      expect(await backendObjects(world)).toEqual(stateObjects(repaired));
    });

    // Killed before a create's result is recorded (found again by its idempotency token), and in
    // the middle of a destroy. The killed run is the world's first
    // `virtform` process: a CLI run in this process would hold the embedded emulator's data dir.
    it.each([
      ["apply", "before:2"],
      ["destroy", "after:3"],
    ])("converges after %s is killed at state record %s, leaving no orphan", async (command, point) => {
      const world = await open();
      write(world, `${group("app", 1)}\n  const data = fast.volume("data", { sizeGiB: 0.125 });\n  data.attachTo(app);`);
      if (command === "destroy") {
        const applied = await virtformProcess(world, ["apply", "--yes"]);
        expect(applied.code, applied.output).toBe(0);
      }
      const killed = await virtformProcess(world, [command, "--yes", "--parallelism", "1"], { killAt: point });
      expect(killed.code, killed.output).toBe("SIGKILL");
      const resumed = await run(world, [command, "--yes"]);
      expect(resumed.code, resumed.output).toBe(0);
      const converged = state(world);
      expect(Object.keys(converged.resources)).toHaveLength(command === "apply" ? 6 : 0);
      expect(await backendObjects(world)).toEqual(stateObjects(converged));
      if (command === "apply") await expectNoChanges(world);
    });
  });
}
