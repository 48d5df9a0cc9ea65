// A served emulator on a loopback port for the HTTP suites, and a small client that returns status and
// parsed body (tests need to see the wire, not the HttpBackend's view of it).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { serveEmulator, type RunningServer } from "../../emulator/http/server.ts";
import { makeWorkdir } from "../helpers/cli.ts";

export const TOKEN = "test-token-3f9a";

export interface Served extends RunningServer {
  dataDir: string;
  api: Api;
  stop(): Promise<void>;
}

export async function serve(token = TOKEN): Promise<Served> {
  const dataDir = makeWorkdir("virtform-http-");
  const server = await serveEmulator({ dataDir, token, port: 0 });
  return {
    ...server,
    dataDir,
    api: new Api(server.url, token),
    stop: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class Api {
  readonly url: string;
  readonly token: string | undefined;

  constructor(url: string, token: string | undefined) {
    this.url = url;
    this.token = token;
  }

  withToken(token: string | undefined): Api {
    return new Api(this.url, token);
  }

  async call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const response = await fetch(this.url + path, {
      method,
      headers: {
        ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as T) : (undefined as T), headers: response.headers };
  }

  get = <T = any>(path: string) => this.call<T>("GET", path);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.call<T>("POST", path, body, headers);
  put = <T = any>(path: string, body?: unknown) => this.call<T>("PUT", path, body);
  del = <T = any>(path: string) => this.call<T>("DELETE", path);
}

export const specs = {
  cluster: { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 500 } },
  image: { base: "debian-12", packages: ["openjdk-17-jre-headless"], variants: { light: { config: { heapMiB: 512 } } } },
  pool: { media: "ssd", devices: [{ sizeGiB: 100 }] },
  volume: (pool: string) => ({ pool, sizeGiB: 10 }),
  instance: (cluster: string, image: string, digest: string, index = 0) => ({
    cluster,
    group: "app",
    index,
    image: { image, variant: "light", digest },
    vcpu: 2,
    memoryGiB: 4,
    localDiskGiB: 10,
  }),
};

/** A cluster, an image, a pool, a volume and its snapshot, an instance and an attachment, made through the API. */
export async function populate(api: Api) {
  const must = (a: Answer, what: string) => {
    if (a.status !== 201) throw new Error(`creating ${what}: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body as { id: string; name: string; spec: any; outputs: any };
  };
  const cluster = must(await api.post("/v1/clusters", { name: "cluster.web", spec: specs.cluster }), "cluster");
  const image = must(await api.post("/v1/images", { name: "image.app", spec: specs.image }), "image");
  const pool = must(await api.post("/v1/pools", { name: "pool.fast", spec: specs.pool }), "pool");
  const volume = must(await api.post("/v1/volumes", { name: "volume.data", spec: specs.volume(pool.id) }), "volume");
  const snapshot = must(await api.post("/v1/snapshots", { name: "snapshot.data", spec: { volume: volume.id } }), "snapshot");
  const digest = image.outputs.variants.light.digest as string;
  const instance = must(await api.post("/v1/instances", { name: "instances.web/app[0]", spec: specs.instance(cluster.id, image.id, digest) }), "instance");
  const attachment = must(await api.post("/v1/attachments", { name: "attachment.data", spec: { volume: volume.id, instance: instance.id } }), "attachment");
  return { cluster, image, pool, volume, snapshot, instance, attachment, digest };
}

export const COLLECTION_NAMES = ["clusters", "instances", "images", "pools", "volumes", "snapshots", "attachments"] as const;

/** Every collection's items, to compare before and after something that must change nothing. */
export async function snapshot(api: Api): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const c of COLLECTION_NAMES) {
    const a = await api.get<{ items: unknown[] }>(`/v1/${c}`);
    if (a.status !== 200) throw new Error(`listing ${c}: ${a.status}`);
    out[c] = a.body.items;
  }
  return out;
}
