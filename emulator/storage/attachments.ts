// Attachments: a volume on an instance as a device. A second attachment needs a multi-attach volume;
// an instance that is terminated takes no attachment.
import { conflict } from "../errors.ts";
import type { ObjectService } from "../service.ts";
import { attachmentsOf } from "./volumes.ts";

const DEVICES = "bcdefghijklmnopqrstuvwxyz".split("").map((c) => `vd${c}`);

export const attachmentService: ObjectService<"attachments"> = {
  collection: "attachments",
  idPrefix: "att",
  create(ctx, object) {
    const volume = ctx.find("volumes", object.spec.volume, "volume");
    const instance = ctx.find("instances", object.spec.instance, "instance");
    if (instance.state === "terminated") throw conflict(`instance ${instance.name} is terminated`);
    const existing = attachmentsOf(ctx, volume.id);
    if (existing.length > 0 && !volume.spec.multiAttach) {
      const other = ctx.data.instances[existing[0]!.spec.instance];
      throw conflict(`volume ${volume.name} is not multi-attach and is already attached to ${other?.name ?? existing[0]!.spec.instance}`);
    }
    if (existing.some((a) => a.spec.instance === instance.id)) throw conflict(`volume ${volume.name} is already attached to ${instance.name}`);
    const taken = new Set(Object.values(ctx.data.attachments).filter((a) => a.spec.instance === instance.id).map((a) => a.device));
    const device = object.spec.device ?? DEVICES.find((d) => !taken.has(d));
    if (!device) throw conflict(`instance ${instance.name} has no free device name`);
    if (taken.has(device)) throw conflict(`device ${device} of instance ${instance.name} is taken`);
    object.device = device;
    // The emulator's hypervisor hot-plugs at once: attaching and attached are one transaction; the
    // data plane serves the device as soon as the transaction is applied.
    object.state = "attaching";
    ctx.event("attachment.attaching", object.id, `${volume.name} as ${device} of ${instance.name} (${object.spec.mode})`);
    object.state = "attached";
    ctx.event("attachment.attached", object.id, `${volume.name} as ${device} of ${instance.name} (${object.spec.mode})`);
  },
  update(ctx, object) {
    throw conflict(`attachment ${object.name} cannot change; detach and attach again`);
  },
  delete(ctx, object) {
    // A running guest is asked to release the device (the data plane flushes it after the
    // transaction); a stopped or terminated one has nothing to release, so it is detached at once.
    const instance = ctx.data.instances[object.spec.instance];
    if (instance?.state === "running") {
      object.state = "detaching";
      ctx.event("attachment.detaching", object.id, `${object.device} of ${instance.name}`);
    }
    object.state = "detached";
    ctx.event("attachment.detached", object.id, instance ? `${object.device} of ${instance.name} (${instance.state})` : object.device);
  },
  outputs(_ctx, object) {
    return { device: object.device };
  },
};
