// Pulumi names virtform's kinds by token, "virtform:<module>:<Kind>". This mapping is the one place
// that says which module a kind lives in: the schema, the SDK, the plugin and (next) virtform's own
// resource monitor all go through it.
import { kinds, type KindName } from "../../sdk/kinds/index.ts";

export const PACKAGE = "virtform";

/** The module (the SDK's namespace: virtform.compute.Cluster) of each kind. */
export const moduleOf: Readonly<Record<KindName, string>> = {
  Cluster: "compute",
  Instance: "compute",
  Image: "images",
  StoragePool: "storage",
  Volume: "storage",
  Snapshot: "storage",
  Attachment: "storage",
};

export function tokenOf(kind: KindName): string {
  return `${PACKAGE}:${moduleOf[kind]}:${kind}`;
}

/** The kind behind a resource token, or undefined for a token that is not one of ours. */
export function kindOfToken(token: string): KindName | undefined {
  const [pkg, module, name] = token.split(":");
  if (pkg !== PACKAGE || !name || !(name in kinds)) return undefined;
  return moduleOf[name as KindName] === module ? (name as KindName) : undefined;
}

/** "urn:pulumi:dev::shop::virtform:storage:Volume::data" -> "Volume"; a parent chain ("a$b") is allowed. */
export function kindOfUrn(urn: string): KindName | undefined {
  const type = urn.split("::")[2]?.split("$").at(-1);
  return type === undefined ? undefined : kindOfToken(type);
}

/** The resource's name, the last part of its URN. */
export function nameOfUrn(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** The emulator object's name: the address a native program would give it ("volume.data"). */
export function addressOfUrn(urn: string): string {
  const kind = kindOfUrn(urn);
  return kind ? `${kinds[kind].addressPrefix}.${nameOfUrn(urn)}` : nameOfUrn(urn);
}

/**
 * Who owns an object a Pulumi program created, as backend tags: the Pulumi project and stack (the
 * "pulumi:" prefix cannot collide with a native stack name) and the native-style address. Pulumi's
 * own state has no lineage the provider can see, so the lineage is the fixed "pulumi".
 */
export function ownerOfUrn(urn: string): { stack: string; lineage: string; address: string } {
  const [, stack = "", project = ""] = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(urn) ?? [];
  return { stack: `pulumi:${project}/${stack}`, lineage: "pulumi", address: addressOfUrn(urn) };
}
