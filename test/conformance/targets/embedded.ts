// The embedded emulator as a conformance target: the CLI opens `.virtform/emulator` in the world's
// directory itself; the suite's own reads, drift and bytes go through an Emulator this process opens
// on the same data dir between CLI runs (closed before each, as one process at a time may hold it).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Emulator } from "../../../emulator/emulator.ts";
import type { Backend } from "../../../provider/backend.ts";
import { EmbeddedBackend } from "../../../provider/embedded-backend.ts";
import type { ConformanceTarget, ConformanceWorld, Disk } from "../target.ts";
import { emulatorDeclarations } from "./emulator-declarations.ts";
import { makeWorkdir } from "../../helpers/cli.ts";

export const embeddedTarget: ConformanceTarget = {
  name: "embedded emulator",
  async open(): Promise<ConformanceWorld> {
    const dir = makeWorkdir("virtform-conformance-");
    const dataDir = join(dir, ".virtform", "emulator");
    let opened: Emulator | undefined;
    const emulator = () => (opened ??= Emulator.open(dataDir));
    const close = async () => {
      const e = opened;
      opened = undefined;
      await e?.close();
    };
    const plane = () => emulator().dataPlane!;
    const deviceName = (instanceId: string, disk: Disk) => {
      if (disk === "local") return "vda";
      const attachment = emulator()
        .list("Attachment")
        .find((a) => a.spec.instance === instanceId && a.spec.volume === disk.volume);
      if (!attachment) throw new Error(`instance ${instanceId} has no attachment of ${disk.volume}`);
      return attachment.outputs.device as string;
    };
    return {
      dir,
      backend: lazyBackend(() => new EmbeddedBackend(emulator())),
      declarations: emulatorDeclarations,
      cliEnv: {},
      beforeCli: close,
      outOfBand: {
        deleteInstance: async (id) => emulator().delete("Instance", id),
        resizeVolume: async (id, sizeGiB) => {
          const volume = emulator().get("Volume", id);
          if (!volume) throw new Error(`no volume ${id}`);
          emulator().update("Volume", id, { ...volume.spec, sizeGiB }, { restart: false });
        },
        power: async (id, action) => void emulator().instanceAction(id, action),
      },
      bytes: {
        async writeVolume(id, offset, data) {
          const device = await plane().volumeDevice(id);
          await device.write(offset, data);
          await device.flush();
        },
        readVolume: async (id, offset, length) => (await plane().volumeDevice(id)).read(offset, length),
        volumeSize: async (id) => (await plane().volumeDevice(id)).sizeBytes,
        async writeDisk(instanceId, disk, offset, data) {
          const { device } = await plane().instanceDevice(instanceId, deviceName(instanceId, disk), "write");
          await device.write(offset, data);
          await device.flush();
        },
        readDisk: async (instanceId, disk, offset, length) =>
          (await plane().instanceDevice(instanceId, deviceName(instanceId, disk), "read")).device.read(offset, length),
      },
      restart: close, // the next use opens the data dir again, as a new process would
      async dispose() {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** A Backend whose every call goes to the one `current()` gives at that moment (reopened after a close). */
function lazyBackend(current: () => Backend): Backend {
  return {
    create: (...a) => current().create(...a),
    get: (...a) => current().get(...a),
    update: (...a) => current().update(...a),
    delete: (...a) => current().delete(...a),
    getByToken: (...a) => current().getByToken!(...a),
    setTags: (...a) => current().setTags!(...a),
    list: (...a) => current().list!(...a),
    capacity: () => current().capacity!(),
    writtenBytes: (...a) => current().writtenBytes!(...a),
    rehearsal: () => current().rehearsal(),
  };
}
