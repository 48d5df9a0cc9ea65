// The emulator over HTTP (`virtform emulator serve`): the same Backend as the embedded one, so the
// provider and engine cannot tell them apart. API errors come back as HttpBackendError with the
// emulator's `code`, so `isNotFound` and friends work unchanged.
import { VirtformError } from "../core/virtform-error.ts";
import type { CapacityReportRow } from "../emulator/capacity.ts";
import type { Value } from "../core/model.ts";
import { collectionOf, type ApiErrorBody, type ApiErrorCode } from "../emulator/http/collections.ts";
import type { Emulator } from "../emulator/emulator.ts";
import type { EmulatorEvent } from "../emulator/data.ts";
import type { PoolDataView } from "../emulator/data-plane.ts";
import type { KindName } from "../sdk/kinds/index.ts";
import type { Backend, BackendObject } from "./backend.ts";

/** The API's error code, "unreachable" (no answer), or the status of an answer that is not an API error. */
export type HttpBackendErrorCode = ApiErrorCode | "unreachable" | `http-${number}`;

export class HttpBackendError extends VirtformError<HttpBackendErrorCode> {
  readonly layer = "provider";
  readonly status: number;

  constructor(code: HttpBackendErrorCode, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

export interface HttpBackendOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8420 (a trailing /v1 is accepted). */
  endpoint: string;
  token: string;
  /** Where the token came from, said when the server refuses it (default: VIRTFORM_TOKEN). */
  tokenSource?: string;
  /** Per request; a hung server should not hang a plan forever. */
  timeoutMs?: number;
}

export class HttpBackend implements Backend {
  private readonly options: HttpBackendOptions;
  readonly endpoint: string;
  private readonly base: string;

  constructor(
    options: HttpBackendOptions,
    /** Where the API lives: /v1, or /v1/rehearsals/<id> for a rehearsal. */
    path = "/v1",
  ) {
    this.options = options;
    this.endpoint = options.endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.base = this.endpoint + path;
  }

  async create(
    kind: KindName,
    spec: Record<string, Value>,
    options: { name: string; token: string; tags?: Record<string, string>; secretPaths?: readonly string[] },
  ): Promise<BackendObject> {
    const secretPaths = options.secretPaths?.length ? { secretPaths: options.secretPaths } : {};
    return this.request("POST", `/${collectionOf[kind]}`, { name: options.name, spec, ...(options.tags && { tags: options.tags }), ...secretPaths }, { "idempotency-key": options.token });
  }

  async get(kind: KindName, id: string): Promise<BackendObject | null> {
    try {
      return await this.request<BackendObject>("GET", `/${collectionOf[kind]}/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof HttpBackendError && err.code === "not-found") return null;
      throw err;
    }
  }

  async update(kind: KindName, id: string, spec: Record<string, Value>, options: { restart: boolean; secretPaths?: readonly string[] }): Promise<BackendObject> {
    const secretPaths = options.secretPaths?.length ? { secretPaths: options.secretPaths } : {};
    return this.request("PUT", `/${collectionOf[kind]}/${encodeURIComponent(id)}`, { spec, restart: options.restart, ...secretPaths });
  }

  async delete(kind: KindName, id: string): Promise<void> {
    await this.request("DELETE", `/${collectionOf[kind]}/${encodeURIComponent(id)}`);
  }

  async list(kind: KindName, filter?: { tags?: Record<string, string> }): Promise<BackendObject[]> {
    const query = Object.entries(filter?.tags ?? {}).map(([k, v]) => `tag=${encodeURIComponent(`${k}=${v}`)}`);
    return (await this.request<{ items: BackendObject[] }>("GET", `/${collectionOf[kind]}${query.length ? `?${query.join("&")}` : ""}`)).items;
  }

  async setTags(kind: KindName, id: string, tags: Record<string, string>): Promise<BackendObject> {
    return this.request("PUT", `/${collectionOf[kind]}/${encodeURIComponent(id)}/tags`, tags);
  }

  async events(since = 0): Promise<EmulatorEvent[]> {
    return (await this.request<{ items: EmulatorEvent[] }>("GET", `/events?since=${since}`)).items;
  }

  /** What `virtform emulator inspect` shows, as the embedded emulator's `inspect()` gives it. */
  async inspect(options: { showSecrets?: boolean } = {}): Promise<ReturnType<Emulator["inspect"]>> {
    return this.request("GET", options.showSecrets ? "/inspect?showSecrets=true" : "/inspect");
  }

  async capacity(): Promise<CapacityReportRow[]> {
    return (await this.request<{ items: CapacityReportRow[] }>("GET", "/capacity")).items;
  }

  /** From the pool's data view (`GET /pools/{id}/data`): the bytes the volume or snapshot maps; for an instance, its local disk's. */
  async writtenBytes(kind: KindName, id: string): Promise<number | undefined> {
    if (kind === "Instance") {
      const usage = await this.request<{ writtenBytes: number | null }>("GET", `/instances/${encodeURIComponent(id)}/local-disk`).catch(() => undefined);
      return usage?.writtenBytes ?? undefined;
    }
    if (kind !== "Volume" && kind !== "Snapshot") return undefined;
    const object = await this.get(kind, id);
    // A snapshot names its pool itself: its volume may be gone while it keeps the bytes.
    const pool = kind === "Snapshot" ? object?.outputs.pool : object?.spec.pool;
    if (typeof pool !== "string") return undefined;
    const data = await this.request<PoolDataView>("GET", `/pools/${encodeURIComponent(pool)}/data`).catch(() => undefined);
    return data?.volumes.find((v) => v.id === id)?.mappedBytes;
  }

  /** The object a create with this idempotency key made, if any: crash recovery over HTTP. */
  async getByToken(kind: KindName, token: string): Promise<BackendObject | null> {
    try {
      return await this.request<BackendObject>("GET", `/tokens/${encodeURIComponent(`${kind}:${token}`)}`);
    } catch (err) {
      if (err instanceof HttpBackendError && err.code === "not-found") return null;
      throw err;
    }
  }

  async rehearsal(): Promise<Backend & { dispose(): Promise<void> }> {
    const { id } = await this.request<{ id: string }>("POST", "/rehearsals");
    const path = `/v1/rehearsals/${encodeURIComponent(id)}`;
    const copy = new HttpBackend(this.options, path);
    const dispose = async () => {
      try {
        await this.request("DELETE", `/rehearsals/${encodeURIComponent(id)}`);
      } catch (err) {
        if (!(err instanceof HttpBackendError && err.code === "not-found")) throw err; // expired: gone anyway
      }
    };
    return Object.assign(copy, { dispose });
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const url = this.base + path;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new HttpBackendError("unreachable", 0, `cannot reach the emulator at ${this.endpoint}: ${cause}`);
    }
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    let error: ApiErrorBody["error"] | undefined;
    try {
      error = (JSON.parse(text) as Partial<ApiErrorBody>).error;
    } catch {
      // not our JSON (a proxy, another service on the port): report the status and text
    }
    const hint = response.status === 401 ? ` (check ${this.options.tokenSource ?? "VIRTFORM_TOKEN"})` : "";
    if (error?.code && error.message) throw new HttpBackendError(error.code, response.status, error.message + hint);
    // Never "not-found" here: a 404 from something that is not the emulator must not read as "gone".
    throw new HttpBackendError(`http-${response.status}`, response.status, `${method} ${url}: ${response.status} ${response.statusText}: ${text.slice(0, 200)}`);
  }
}
