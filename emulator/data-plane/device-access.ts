// Which bytes a device request or an NBD export name reaches, and with which access: decided from
// the control-plane document alone; data-plane.ts opens the device.

import type { EmulatorData, InstanceObject } from "../data.ts";
import { EmulatorError, conflict, notFound } from "../errors.ts";

/** Device name of an instance's local disk. */
export const LOCAL_DISK_DEVICE = "vda";

export type InstanceDeviceTarget =
  | { kind: "local-disk"; instance: InstanceObject; what: string }
  | { kind: "volume"; volumeId: string; readOnly: boolean; what: string };

/**
 * A device of a running instance for the devices API: its local disk (`vda`) or an attached
 * volume. Writes to a read-only attachment and any access to a stopped instance are refused.
 */
export function instanceDeviceTarget(data: EmulatorData, instanceId: string, name: string, access: "read" | "write"): InstanceDeviceTarget {
  const instance = data.instances[instanceId];
  if (!instance) {
    if (data.terminated?.[instanceId]) throw conflict(`instance ${instanceId} is terminated: it has no devices any more`);
    throw notFound("instance", instanceId);
  }
  if (instance.state !== "running") {
    throw conflict(`instance ${instance.name} is ${instance.state}: its devices can be read and written only while it runs (start it first)`);
  }
  if (name === LOCAL_DISK_DEVICE) return { kind: "local-disk", instance, what: `local disk ${name} of ${instance.name}` };
  const attachment = Object.values(data.attachments).find((a) => a.spec.instance === instanceId && a.device === name && a.state === "attached");
  if (!attachment) {
    const devices = [LOCAL_DISK_DEVICE, ...Object.values(data.attachments).filter((a) => a.spec.instance === instanceId).map((a) => a.device)];
    throw new EmulatorError("not-found", `instance ${instance.name} has no device ${name} (it has ${devices.join(", ")})`);
  }
  const volume = data.volumes[attachment.spec.volume];
  const what = `device ${name} of ${instance.name} (volume ${volume?.name ?? attachment.spec.volume}, ${attachment.spec.mode})`;
  if (access === "write" && attachment.spec.mode === "read-only") {
    throw conflict(`${what} is attached read-only: writes are refused`);
  }
  return { kind: "volume", volumeId: attachment.spec.volume, readOnly: attachment.spec.mode === "read-only", what };
}

/**
 * NBD export names: a volume by id or (when unique) by name, read-write; `<volume>:ro` read-only;
 * a snapshot by id, read-only (the device says so); an attachment by id, read-only when the
 * attachment is. Undefined for a name that reaches nothing.
 */
export function exportTarget(data: EmulatorData, name: string): { volumeId: string; readOnly: boolean } | undefined {
  const readOnlySuffix = name.endsWith(":ro");
  const base = readOnlySuffix ? name.slice(0, -3) : name;
  if (data.volumes[base] || data.snapshots[base]) return { volumeId: base, readOnly: readOnlySuffix };
  const attachment = data.attachments[base];
  if (attachment) return { volumeId: attachment.spec.volume, readOnly: readOnlySuffix || attachment.spec.mode === "read-only" };
  const named = Object.values(data.volumes).filter((v) => v.name === base);
  return named.length === 1 ? { volumeId: named[0]!.id, readOnly: readOnlySuffix } : undefined;
}

/** What NBD_OPT_LIST shows: every volume, snapshot and attachment id. */
export function exportNames(data: EmulatorData): string[] {
  return [...Object.keys(data.volumes), ...Object.keys(data.snapshots), ...Object.keys(data.attachments)].sort();
}
