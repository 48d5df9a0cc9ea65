// What the provider does for each Terraform resource call, in MessagePack values in and out, with no
// gRPC: validate with the kind's zod schema, decide the plan with the engine's pure planResource, and
// create/read/update/delete through the engine's Provider over a backend (embedded or HTTP).
import { isVirtformError } from "../../core/virtform-error.ts";
import { PROTO_KEY_REFUSED, protoKeyPath } from "../../core/own.ts";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { UNKNOWN, isUnknown, type Value } from "../../core/model.ts";
import { dataLoss, describeDataLoss } from "../../engine/data-loss.ts";
import { planResource, type ResourceDecision } from "../../engine/plan-resource.ts";
import type { Observed, Owner, Provider } from "../../engine/provider.ts";
import { containsUnknown, deepEqual } from "../../core/values.ts";
import { describeIssue, formatPath } from "../../sdk/evaluate.ts";
import { kindInfo, kinds } from "../../sdk/kinds/index.ts";
import { fieldSchema, fillDefaults, withoutNestedDefaults } from "../pulumi/defaults.ts";
import { fromJson, fromPacked, toPacked } from "./codec.ts";
import { attributePath, error, formatSteps, SEVERITY, warning, type Diagnostic, type Step } from "./diagnostics.ts";
import type { Packed } from "./msgpack.ts";
import { lockImage, type ImageLock } from "./image-lock.ts";
import type { ResourceSchema } from "./schema.ts";
import { Settling } from "./settling.ts";
import type { Shape } from "./shape.ts";

/** A resource as the provider holds it between Terraform's calls. */
export interface ResourceValue {
  id: Value | undefined;
  inputs: Record<string, Value>;
  outputs: Record<string, Value>;
  /** The provider's own settings of the resource, which the backend never sees (an image's lock_key). */
  settings?: Record<string, Value>;
}

export interface Planned {
  planned: Packed;
  requiresReplace: Step[][];
  /** The create's idempotency token, carried from plan to apply in the plan's private data; else the prior's. */
  private: Uint8Array;
  diagnostics: Diagnostic[];
}

/** A refusal to show as a diagnostic (not a bug). */
export class ResourceError extends Error {
  readonly diagnostic: Diagnostic;

  constructor(diagnostic: Diagnostic) {
    super(diagnostic.summary);
    this.diagnostic = diagnostic;
  }
}

const unknown = UNKNOWN as unknown as Value;

// An imported object is tagged as Terraform's only once it is in Terraform's state: ImportResourceState
// runs in a plan too (import blocks), and a plan changes nothing. The private data says how far along
// it is: imported (the import's own refresh follows), then refreshed once (in state: the next refresh
// or an update tags it).
const IMPORTED = "virtform:imported";
const IMPORTED_REFRESHED = "virtform:imported-refreshed";
const bytes = (text: string) => new TextEncoder().encode(text);
const textOf = (data: Uint8Array | undefined) => (data && data.length > 0 ? new TextDecoder().decode(data) : "");

export class TerraformResources {
  readonly schemas: Map<string, ResourceSchema>;
  /** Set by ConfigureProvider; validation and planning never need it. */
  provider: Provider | undefined;
  /** Set by ConfigureProvider when a setting is known only after apply: there is no backend in this plan. */
  settingsUnknown = false;
  /** The lock images with a lock_key are locked by (set by ConfigureProvider), and where relative paths start. */
  imageLock: ImageLock | undefined;
  cwd = process.cwd();
  /** Who owns what Terraform creates: the backend's tags (virtform:stack ...). */
  owner: Omit<Owner, "address">;
  /** The throw-away copy of the backend plans are rehearsed on. */
  private sandbox: Promise<Provider & { dispose(): Promise<void> }> | undefined;
  /** Destroys the copy refused (an attachment still there, its own destroy planned later): tried again before a waiting change. */
  private refusedDeletes: (() => Promise<void>)[] = [];
  private replaying: Promise<void> | undefined;
  /** Set once the plugin exits: no new copy. */
  private disposed = false;
  /** Set by the first ApplyResourceChange: this process serves an apply, no longer a plan. */
  private applying = false;
  private readonly settling = new Settling();

  constructor(schemas: Map<string, ResourceSchema>, owner: Omit<Owner, "address">) {
    this.schemas = schemas;
    this.owner = owner;
  }

  validate(typeName: string, config: Packed): Diagnostic[] {
    const schema = this.schema(typeName);
    const inputs = this.decode(schema, config).inputs;
    const protoPath = protoKeyPath(inputs);
    if (protoPath) {
      const steps = attributePath(protoPath, objectShape(schema));
      return [error(`Invalid ${formatSteps(steps) || typeName}`, `${PROTO_KEY_REFUSED} (the ${schema.kind} field ${formatPath(protoPath)})`, sourceSteps(steps))];
    }
    const parsed = kinds[schema.kind].inputs.safeParse(inputs);
    if (parsed.success) return [];
    const diagnostics: Diagnostic[] = [];
    for (const issue of parsed.error.issues) {
      // A value known only after apply is checked then, by the backend.
      if (throughUnknown(inputs, issue.path)) continue;
      const steps = attributePath(issue.path, objectShape(schema));
      const where = formatSteps(steps) || typeName;
      diagnostics.push(error(`Invalid ${where}`, `${describeIssue(issue)} (the ${schema.kind} field ${formatPath(issue.path) || "itself"})`, sourceSteps(steps)));
    }
    return diagnostics;
  }

  plan(typeName: string, prior: Packed, proposed: Packed, config: Packed, priorPrivate = new Uint8Array()): Promise<Planned> {
    return this.settling.counted(() => this.planOne(typeName, prior, proposed, config, priorPrivate));
  }

  /** The plan's copy of the backend, thrown away (a served emulator keeps one until then): when the plugin exits. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    await (await sandbox?.catch(() => undefined))?.dispose();
  }

  /**
   * The plan's copy of the backend, made on first use; undefined when there is none to be had (a
   * served emulator holding its most copies, or the plugin exiting): the plan goes on without
   * rehearsing, and the backend checks each change at apply time.
   */
  private async copy(provider: Provider): Promise<Provider | undefined> {
    if (this.disposed || !provider.rehearsal) return undefined;
    this.sandbox ??= provider.rehearsal();
    return this.sandbox.catch(() => undefined);
  }

  private async planOne(typeName: string, prior: Packed, proposed: Packed, config: Packed, priorPrivate: Uint8Array): Promise<Planned> {
    const schema = this.schema(typeName);
    const none = { requiresReplace: [], private: priorPrivate, diagnostics: [] };
    if (proposed === null) {
      // Destroy (the provider says plan_destroy): the copy plans are rehearsed on loses the object too.
      const before = this.decode(schema, prior);
      await this.rehearseDelete(schema, before);
      // The backend refuses it, whatever else the plan does: said now, before anything is destroyed.
      // Terraform names the resource when it is still in the configuration; for one removed from it,
      // the id is what there is.
      if (before.inputs.deleteProtection === true) {
        const detail = `the ${kindWords(schema)} ${String(before.id)} has delete protection: set delete_protection = false and apply first (\`terraform state list -id=${String(before.id)}\` names its resource)`;
        return { planned: null, ...none, diagnostics: [error("This delete would fail", detail)] };
      }
      return { planned: null, ...none, diagnostics: disruption(schema, before, {}, { action: "delete", fields: [] }) };
    }
    const { wanted, desired, settings, diagnostics: lockDiagnostics } = this.configured(schema, config);
    if (lockDiagnostics.some((d) => d.severity === SEVERITY.ERROR)) return { planned: proposed, ...none, diagnostics: lockDiagnostics };
    if (prior === null) {
      const token = `terraform:${randomUUID()}`;
      const diagnostics = [...lockDiagnostics, ...(await this.rehearse(schema, undefined, desired, "create", token))];
      return { planned: this.encode(schema, { id: unknown, inputs: stated(schema, wanted, desired, undefined), outputs: {}, settings }, true), ...none, private: Buffer.from(token, "utf8"), diagnostics };
    }
    const before = this.decode(schema, prior);
    const decision = decide(schema, before, wanted);
    const inputs = stated(schema, wanted, desired, before.inputs);
    if (decision.action === "noop") return { planned: this.encode(schema, { ...before, inputs, settings }), ...none, diagnostics: lockDiagnostics };
    const diagnostics = [...lockDiagnostics, ...disruption(schema, before, desired, decision), ...(await this.rehearse(schema, before, desired, decision.action))];
    if (decision.action === "replace") {
      const replacing = new Set(decision.fields.filter((f) => f.behaviour === "replace").map((f) => f.path.split(/[.[]/)[0]!));
      const requiresReplace = Object.entries(schema.attributes)
        .filter(([, a]) => (a.side === "input" || a.side === "both") && replacing.has(a.field))
        .map(([name]) => [{ attribute_name: name }]);
      const fresh = stated(schema, wanted, desired, undefined);
      const token = Buffer.from(`terraform:${randomUUID()}`, "utf8");
      return { planned: this.encode(schema, { id: unknown, inputs: fresh, outputs: {}, settings }, true), ...none, requiresReplace, private: token, diagnostics };
    }
    return { planned: this.encode(schema, { id: before.id, inputs, outputs: {}, settings }, true), ...none, diagnostics };
  }

  private async rehearseDelete(schema: ResourceSchema, before: ResourceValue): Promise<void> {
    const provider = this.provider;
    if (!provider || this.applying || before.id === undefined) return;
    const kind = schema.kind;
    const sandbox = await this.copy(provider);
    if (!sandbox) return;
    const remove = () => sandbox.delete(kind, { kind, id: String(before.id), inputs: before.inputs, outputs: before.outputs, dependsOn: [] });
    // Refused on the copy (a volume still attached there, its attachment's destroy planned later):
    // tried again before each retry of a change that waits for room (Settling).
    await remove().catch(() => this.refusedDeletes.push(remove));
  }

  /**
   * The refused destroys again, in the order they came; those the copy still refuses stay. One replay
   * at a time: a waiting change that comes meanwhile waits for it, not for an empty list.
   */
  private replayRefusedDeletes(): Promise<void> {
    this.replaying ??= (async () => {
      const refused = this.refusedDeletes;
      this.refusedDeletes = [];
      for (const remove of refused) await remove().catch(() => this.refusedDeletes.push(remove));
    })().finally(() => (this.replaying = undefined));
    return this.replaying;
  }

  /**
   * The plan-time feasibility check: each change whose values are all known is carried out on one
   * throw-away copy of the backend per provider process (Terraform plans every resource in one), so
   * a plan that would run out of capacity, break a placement rule or shrink a volume fails at plan
   * time, on the resource, instead of half-way through an apply. Values known only after apply (a
   * cluster being created) leave the change to the backend at apply time.
   */
  private async rehearse(schema: ResourceSchema, before: ResourceValue | undefined, desired: Record<string, Value>, action: string, token?: string): Promise<Diagnostic[]> {
    const provider = this.provider;
    if (!provider || this.applying || containsUnknown(desired) || (before && containsUnknown(before.inputs))) return [];
    const kind = schema.kind;
    const prior = before && { kind, id: String(before.id), inputs: before.inputs, outputs: before.outputs, dependsOn: [] };
    const attempt = async (sandbox: Provider) => {
      // A replacement is planned twice: this call, then one as a create (no prior state) for the new
      // object's values; that one rehearses the create.
      if (action === "replace" && prior) await sandbox.delete(kind, prior);
      else if (action === "create") {
        // The create's own token (the plan's private data): the copy is thrown away with the plan.
        const createToken = token ?? `terraform:${randomUUID()}`;
        await sandbox.create(kind, desired, { token: createToken, ...this.owner, address: objectAddress(schema, createToken) });
      } else if (prior) {
        await sandbox.update(kind, prior, desired, action === "update-with-restart");
      }
    };
    const sandbox = await this.copy(provider);
    if (!sandbox) return [];
    try {
      await this.settling.retriedOnRoom(() => attempt(sandbox), () => this.replayRefusedDeletes());
      return [];
    } catch (err) {
      // The backend's refusals (capacity, invalid, conflict ...) are diagnostics; anything else is a bug.
      if (!isVirtformError(err)) throw err;
      // Terraform plans each resource again during an apply: once changes are being applied the copy
      // is behind the backend (a destroy applied meanwhile), and the backend checks for itself.
      if (this.applying) return [];
      return [error(`This ${action} would fail`, err.message)];
    }
  }

  apply(typeName: string, prior: Packed, planned: Packed, config: Packed, privateData: Uint8Array): Promise<Packed> {
    return this.settling.counted(() => this.applyOne(typeName, prior, planned, config, privateData));
  }

  private async applyOne(typeName: string, prior: Packed, planned: Packed, config: Packed, privateData: Uint8Array): Promise<Packed> {
    const schema = this.schema(typeName);
    const provider = this.backend();
    const kind = schema.kind;
    // The copy plans are rehearsed on no longer matches the backend (and would hand out the ids the
    // backend now gives): during an apply Terraform plans each resource again, and the backend itself
    // checks from here on.
    this.applying = true;
    if (planned === null) {
      const before = this.decode(schema, prior);
      await provider.delete(kind, { kind, id: String(before.id), inputs: before.inputs, outputs: before.outputs, dependsOn: [] });
      return null;
    }
    // The plan stopped at the lock's errors; the lock read again gives the plan's sets (Terraform
    // reports an inconsistent result should the lock have changed in between).
    const { wanted, desired, settings } = this.configured(schema, config);
    if (prior === null) {
      const token = privateData.length > 0 ? new TextDecoder().decode(privateData) : `terraform:${randomUUID()}`;
      const created = await this.settling.retriedOnRoom(() => provider.create(kind, desired, { token, ...this.owner, address: objectAddress(schema, token) }));
      return this.encode(schema, { id: created.id, inputs: stated(schema, wanted, desired, created.outputs), outputs: created.outputs, settings });
    }
    const before = this.decode(schema, prior);
    const decision = decide(schema, before, wanted);
    if ([IMPORTED, IMPORTED_REFRESHED].includes(textOf(privateData))) await this.adopt(schema, String(before.id));
    // Only the spelling changed (a default written out, say): the backend has it already.
    if (decision.action === "noop") return this.encode(schema, { ...before, inputs: stated(schema, wanted, desired, before.inputs), settings });
    const outputs = await this.settling.retriedOnRoom(() =>
      provider.update(kind, { kind, id: String(before.id), inputs: before.inputs, outputs: before.outputs, dependsOn: [] }, desired, decision.action === "update-with-restart"),
    );
    return this.encode(schema, { id: before.id, inputs: stated(schema, wanted, desired, outputs), outputs, settings });
  }

  /**
   * Refresh: what the backend has now (null when it is gone); values equal to the state's keep its
   * spelling. The private data goes on as it came, but for an imported object's (see IMPORTED).
   */
  read(typeName: string, current: Packed, privateData?: Uint8Array): Promise<{ state: Packed; private: Uint8Array }> {
    return this.settling.counted(() => this.readOne(typeName, current, privateData));
  }

  private async readOne(typeName: string, current: Packed, privateData?: Uint8Array): Promise<{ state: Packed; private: Uint8Array }> {
    // No backend in this plan (a setting known only after apply): state stays as it is.
    if (!this.provider && this.settingsUnknown) return { state: current, private: privateData ?? new Uint8Array() };
    const schema = this.schema(typeName);
    const before = this.decode(schema, current);
    const observed = await this.backend().read(schema.kind, String(before.id));
    const marker = textOf(privateData);
    let next = privateData ?? new Uint8Array();
    if (observed && marker === IMPORTED) next = bytes(IMPORTED_REFRESHED);
    else if (observed && marker === IMPORTED_REFRESHED) {
      // Tagged once: a plan does not save the private data it gets back, so the next plan comes here again.
      if (observed.owner?.stack !== this.owner.stack) await this.adopt(schema, String(before.id));
      next = new Uint8Array();
    }
    return { state: this.refreshed(schema, before, observed), private: next };
  }

  private refreshed(schema: ResourceSchema, before: ResourceValue, observed: Observed | null): Packed {
    if (!observed) return null;
    const normal = filled(schema, before.inputs);
    const inputs: Record<string, Value> = {};
    for (const [field, value] of Object.entries(observed.inputs)) {
      inputs[field] = deepEqual(normal[field], value) && before.inputs[field] !== undefined ? before.inputs[field]! : value;
    }
    return this.encode(schema, { id: before.id, inputs: completedBy(schema, inputs, observed.outputs), outputs: observed.outputs, settings: before.settings });
  }

  /**
   * `terraform import` and import blocks: the object as the backend has it, a dynamic value without
   * the defaults the backend filled in (as a configuration most often writes it: Terraform holds a
   * plan to the configuration's spelling). Not tagged yet: see IMPORTED.
   */
  import(typeName: string, id: string): Promise<{ state: Packed; private: Uint8Array }> {
    return this.settling.counted(() => this.importOne(typeName, id));
  }

  private async importOne(typeName: string, id: string): Promise<{ state: Packed; private: Uint8Array }> {
    const schema = this.schema(typeName);
    const observed = await this.backend().read(schema.kind, id);
    if (!observed) throw new ResourceError(error(`Cannot import ${typeName}`, `the backend has no ${schema.kind} with id ${JSON.stringify(id)}`));
    const inputs = completedBy(schema, observed.inputs, observed.outputs);
    for (const attribute of Object.values(schema.attributes)) {
      const value = inputs[attribute.field];
      const field = fieldSchema(kinds[schema.kind].inputs as z.ZodType, attribute.field);
      if (attribute.shape.type === "dynamic" && value !== undefined && field) inputs[attribute.field] = withoutNestedDefaults(field, value);
    }
    return { state: this.encode(schema, { id, inputs, outputs: observed.outputs }), private: bytes(IMPORTED) };
  }

  /** Tags an imported object as Terraform's, as a native import tags what it adopts (found again by its tags if state is lost). */
  private async adopt(schema: ResourceSchema, id: string): Promise<void> {
    await this.backend().setOwner?.(schema.kind, id, { ...this.owner, address: importedAddress(schema, id) });
  }

  /** State written by an earlier version of this provider (JSON by attribute name), in today's schema. */
  upgrade(typeName: string, json: unknown): Packed {
    const schema = this.schema(typeName);
    const record = (json ?? {}) as Record<string, unknown>;
    return this.encode(schema, this.split(schema, (name, shape) => fromJson(record[name], shape)));
  }

  schema(typeName: string): ResourceSchema {
    const schema = this.schemas.get(typeName);
    if (!schema) throw new ResourceError(error(`Unknown resource type ${typeName}`, `virtform's resource types are ${[...this.schemas.keys()].join(", ")}`));
    return schema;
  }

  /**
   * The configuration's inputs as written (wanted) and with the kind's defaults (desired), an image's
   * with its locked package sets when it names a lock entry, and the resource's own settings.
   */
  private configured(schema: ResourceSchema, config: Packed) {
    const { inputs: wanted, settings = {} } = this.decode(schema, config);
    let desired = filled(schema, wanted);
    if (schema.kind !== "Image") return { wanted, desired, settings, diagnostics: [] as Diagnostic[] };
    const { locked, diagnostics } = lockImage(this.imageLock, settings.lockKey, desired, this.cwd);
    if (locked !== undefined) {
      wanted.locked = locked as Value;
      desired = { ...desired, locked: locked as Value };
    }
    return { wanted, desired, settings, diagnostics };
  }

  private decode(schema: ResourceSchema, packed: Packed): ResourceValue {
    const record = (packed ?? {}) as Record<string, Packed>;
    return this.split(schema, (name, shape) => fromPacked(record[name], shape));
  }

  private split(schema: ResourceSchema, read: (name: string, shape: Shape) => Value | undefined): ResourceValue {
    const value: ResourceValue = { id: undefined, inputs: {}, outputs: {}, settings: {} };
    for (const [name, attribute] of Object.entries(schema.attributes)) {
      const v = read(name, attribute.shape);
      if (v === undefined) continue;
      if (attribute.side === "id") value.id = v;
      if (attribute.side === "input" || attribute.side === "both") value.inputs[attribute.field] = v;
      if (attribute.side === "output" || attribute.side === "both") value.outputs[attribute.field] = v;
      if (attribute.side === "setting") value.settings![attribute.field] = v;
    }
    return value;
  }

  /** Every attribute, null when absent; with `outputsUnknown`, what the backend decides is "known after apply". */
  private encode(schema: ResourceSchema, value: ResourceValue, outputsUnknown = false): Packed {
    const out: Record<string, Packed> = {};
    for (const [name, attribute] of Object.entries(schema.attributes)) {
      let v: unknown;
      if (attribute.side === "id") v = value.id;
      else if (attribute.side === "input") v = value.inputs[attribute.field];
      else if (attribute.side === "output") v = outputsUnknown ? unknown : value.outputs[attribute.field];
      else if (attribute.side === "setting") v = value.settings?.[attribute.field];
      else v = value.inputs[attribute.field] ?? (outputsUnknown ? unknown : value.outputs[attribute.field]);
      out[name] = toPacked(v, attribute.shape);
    }
    return out;
  }

  /** The configured backend, for a call that needs it (a data source's read too); refused while there is none. */
  backend(): Provider {
    if (!this.provider && this.settingsUnknown) throw new ResourceError(error("The virtform provider's settings are not known yet", "endpoint, token or data_dir in the provider block is known only after apply, and this needs the emulator; apply what they come from first (terraform apply -target)"));
    if (!this.provider) throw new ResourceError(error("The virtform provider is not configured", "Terraform called the provider before ConfigureProvider"));
    return this.provider;
  }
}

/**
 * The name and owner address an object gets: Terraform does not tell a provider the resource's address,
 * so it is the kind's prefix and the create token's first characters ("volume.tf-1a2b3c4d").
 */
function objectAddress(schema: ResourceSchema, token: string): string {
  return `${kinds[schema.kind].addressPrefix}.tf-${token.replace(/^terraform:/, "").slice(0, 8)}`;
}

/** The owner address an imported object gets: the kind's prefix and its id ("volume.tf-vol-1a2b"). */
function importedAddress(schema: ResourceSchema, id: string): string {
  return `${kinds[schema.kind].addressPrefix}.tf-${id}`;
}

/**
 * The path a diagnostic carries: Terraform finds a path's source line through the attribute and, when
 * it comes next and last, an element's index or key (a deeper path into a nested attribute's value
 * leaves it at the resource's line); the summary names the whole path.
 */
function sourceSteps(steps: Step[]): Step[] {
  return steps.length >= 2 && !("attribute_name" in steps[1]!) ? steps.slice(0, 2) : steps.slice(0, 1);
}

/** The resource's attributes as one object shape (for attribute paths). */
function objectShape(schema: ResourceSchema): Shape {
  return { type: "object", attributes: schema.attributes };
}

/**
 * What Terraform's plan does not show by itself, as the native plan says it: an update that restarts
 * the object (on the first field that needs it), and the data a restart, stop or replacement wipes.
 */
function disruption(schema: ResourceSchema, before: ResourceValue, desired: Record<string, Value>, decision: Pick<ResourceDecision, "action" | "fields">): Diagnostic[] {
  const kind = kindInfo.get(schema.kind)!;
  const loss = dataLoss({ action: decision.action, before: filled(schema, before.inputs), after: desired }, kind);
  const lost = loss ? describeDataLoss(loss) : undefined;
  const what = kindWords(schema);
  if (decision.action === "update-with-restart") {
    const field = decision.fields.find((f) => f.behaviour === "restart");
    const steps = field ? sourceSteps(attributePath(field.path.split(/[.[\]]+/).filter(Boolean), objectShape(schema))) : [];
    return [warning(`This update restarts the ${what}`, `${field ? `${field.path} changes only on a restart` : "a field changes only on a restart"}${lost ? `; ${lost}` : ""}`, steps)];
  }
  const change = decision.action === "replace" ? "replacement" : decision.action === "delete" ? "destroy" : "update";
  return lost ? [warning(`This ${change} stops the ${what}`, lost)] : [];
}

/** A kind as words in a sentence: "storage pool". */
function kindWords(schema: ResourceSchema): string {
  return schema.kind.replace(/(?<=[a-z])(?=[A-Z])/g, " ").toLowerCase();
}

/**
 * The engine's decision for a resource in state: defaults filled on both sides, and an attribute the
 * backend completes (an attachment's device) no change while the configuration leaves it out.
 */
function decide(schema: ResourceSchema, before: ResourceValue, wanted: Record<string, Value>): ResourceDecision {
  const completed = Object.values(schema.attributes).filter((a) => a.side === "both" && wanted[a.field] === undefined).map((a) => a.field);
  return planResource({ inputs: without(filled(schema, before.inputs), completed) }, { inputs: without(filled(schema, wanted), completed) }, kindInfo.get(schema.kind)!);
}

/** The kind's defaults filled in: what the backend gets and what plans compare. */
function filled(schema: ResourceSchema, inputs: Record<string, Value>): Record<string, Value> {
  return fillDefaults(kinds[schema.kind].inputs as z.ZodType, inputs) as Record<string, Value>;
}

/**
 * The inputs as the state holds them: the configuration's values, defaults where it left a computed
 * attribute null, a dynamic value exactly as written (Terraform holds planned values to the
 * configuration's, and a default inside a dynamic value is not in it), and for an attribute the
 * backend completes, the prior or new object's value.
 */
function stated(
  schema: ResourceSchema,
  wanted: Record<string, Value>,
  desired: Record<string, Value>,
  completion: Record<string, Value> | undefined,
): Record<string, Value> {
  const inputs: Record<string, Value> = {};
  for (const attribute of Object.values(schema.attributes)) {
    if (attribute.side !== "input" && attribute.side !== "both") continue;
    const value = attribute.shape.type === "dynamic" && wanted[attribute.field] !== undefined ? wanted[attribute.field] : desired[attribute.field];
    const v = value ?? (attribute.side === "both" ? completion?.[attribute.field] : undefined);
    if (v !== undefined) inputs[attribute.field] = v;
  }
  return inputs;
}

/** The backend's inputs, with what it completed (an attachment's device) from its outputs. */
function completedBy(schema: ResourceSchema, inputs: Record<string, Value>, outputs: Record<string, Value>): Record<string, Value> {
  const out = { ...inputs };
  for (const attribute of Object.values(schema.attributes)) {
    if (attribute.side === "both" && out[attribute.field] === undefined && outputs[attribute.field] !== undefined) out[attribute.field] = outputs[attribute.field]!;
  }
  return out;
}

function without(values: Record<string, Value>, fields: readonly string[]): Record<string, Value> {
  return Object.fromEntries(Object.entries(values).filter(([field]) => !fields.includes(field)));
}

function throughUnknown(value: unknown, path: readonly PropertyKey[]): boolean {
  let at = value;
  for (const part of path) {
    if (isUnknown(at)) return true;
    if (typeof at !== "object" || at === null) return false;
    at = (at as Record<PropertyKey, unknown>)[part as string];
  }
  return isUnknown(at);
}
