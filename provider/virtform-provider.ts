// The engine's Provider for virtform's own kinds: inputs go to the backend as specs, and what comes
// back is checked against the kind's output schema, so a backend cannot drift from the contract.
import type { ResourceState, Value } from "../core/model.ts";
import type { CapacityRow, Created, Observed, Owner, OwnedRef, Provider } from "../engine/provider.ts";
import { kinds, type KindName } from "../sdk/kinds/index.ts";
import { isNotFound, type Backend, type BackendObject } from "./backend.ts";

export class VirtformProvider implements Provider {
  private readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async create(kind: string, inputs: Record<string, Value>, context: { token: string; secretPaths?: readonly string[] } & Owner): Promise<Created> {
    const secretPaths = context.secretPaths?.length ? { secretPaths: context.secretPaths } : {};
    const object = await this.backend.create(kindName(kind), inputs, { name: context.address, token: context.token, tags: ownerTags(context), ...secretPaths });
    return { id: object.id, outputs: outputsOf(kind, object) };
  }

  async read(kind: string, id: string): Promise<Observed | null> {
    const object = await this.backend.get(kindName(kind), id);
    return object ? observed(kind, object) : null;
  }

  /** One tag-filtered list per kind: the backend picks the stack's objects, not this process. Values are not checked here (a plan runs this every time): read them to use them. */
  async listOwned(stack: string): Promise<OwnedRef[]> {
    const { list } = this.backend;
    if (!list) return [];
    const found: OwnedRef[] = [];
    for (const kind of Object.keys(kinds) as KindName[]) {
      for (const object of await list.call(this.backend, kind, { tags: { [TAG.stack]: stack } })) {
        const owner = ownerOf(object.tags);
        if (owner) found.push({ kind, id: object.id, owner });
      }
    }
    return found;
  }

  async setOwner(kind: string, id: string, owner: Owner | null): Promise<void> {
    if (!this.backend.setTags) return;
    const object = await this.backend.get(kindName(kind), id);
    if (!object) return;
    const others = Object.fromEntries(Object.entries(object.tags ?? {}).filter(([key]) => !Object.values(TAG).includes(key as never)));
    await this.backend.setTags(kindName(kind), id, { ...others, ...(owner && ownerTags(owner)) });
  }

  async readMany(kind: string, ids: string[]): Promise<Map<string, Observed>> {
    const wanted = new Set(ids);
    const found = new Map<string, Observed>();
    if (!this.backend.list) {
      for (const id of ids) {
        const one = await this.read(kind, id);
        if (one) found.set(id, one);
      }
      return found;
    }
    for (const object of await this.backend.list(kindName(kind))) {
      if (wanted.has(object.id)) found.set(object.id, observed(kind, object));
    }
    return found;
  }

  async capacity(): Promise<CapacityRow[]> {
    const rows = this.backend.capacity ? await this.backend.capacity() : [];
    return rows.map(({ id, owner, measure, unit, used, total }) => ({ id, owner, measure, unit, used, total }));
  }

  async writtenBytes(kind: string, id: string): Promise<number | undefined> {
    return this.backend.writtenBytes?.(kind as KindName, id);
  }

  async recover(kind: string, token: string): Promise<Created | null> {
    if (!this.backend.getByToken) return null;
    const object = await this.backend.getByToken(kindName(kind), token);
    return object ? { id: object.id, outputs: outputsOf(kind, object) } : null;
  }

  async update(
    kind: string,
    prior: ResourceState,
    inputs: Record<string, Value>,
    restart: boolean,
    context?: { secretPaths?: readonly string[] },
  ): Promise<Record<string, Value>> {
    const secretPaths = context?.secretPaths?.length ? { secretPaths: context.secretPaths } : {};
    return outputsOf(kind, await this.backend.update(kindName(kind), prior.id, inputs, { restart, ...secretPaths }));
  }

  async delete(kind: string, prior: ResourceState): Promise<void> {
    try {
      await this.backend.delete(kindName(kind), prior.id);
    } catch (err) {
      if (!isNotFound(err)) throw err; // already gone (e.g. detached when its instance terminated)
    }
  }

  async rehearsal(): Promise<Provider & { dispose(): Promise<void> }> {
    const copy = await this.backend.rehearsal();
    return Object.assign(new VirtformProvider(copy), { dispose: () => copy.dispose() });
  }
}

function kindName(kind: string): KindName {
  if (!(kind in kinds)) throw new Error(`virtform has no resource kind ${kind}`);
  return kind as KindName;
}

/** The backend tags that say who made an object. */
export const TAG = { stack: "virtform:stack", lineage: "virtform:lineage", address: "virtform:address" } as const;

function ownerTags(owner: Owner): Record<string, string> {
  return { [TAG.stack]: owner.stack, [TAG.lineage]: owner.lineage, [TAG.address]: owner.address };
}

function ownerOf(tags: Record<string, string> | undefined): Owner | undefined {
  const stack = tags?.[TAG.stack];
  const lineage = tags?.[TAG.lineage];
  const address = tags?.[TAG.address];
  return stack && lineage && address ? { stack, lineage, address } : undefined;
}

function observed(kind: string, object: BackendObject): Observed {
  const owner = ownerOf(object.tags);
  return { inputs: object.spec, outputs: outputsOf(kind, object), ...(owner && { owner }), ...(object.unhealthy ? { unhealthy: object.unhealthy } : {}) };
}

function outputsOf(kind: string, object: BackendObject): Record<string, Value> {
  const parsed = kinds[kindName(kind)].outputs.safeParse(object.outputs);
  if (!parsed.success) {
    throw new Error(`backend returned invalid outputs for ${kind} ${object.id}: ${parsed.error.message}`);
  }
  return parsed.data as Record<string, Value>;
}
