// The emulator over HTTP as a conformance target: `virtform emulator serve`'s server, started in this
// process on a data dir of its own, reached by the CLI through VIRTFORM_ENDPOINT and by the suite
// through HttpBackend, the REST API (instance actions, the devices API) and NBD (volume bytes).
// A restart closes the server and serves the same data dir again on the same ports.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { serveEmulator, type RunningServer } from "../../../emulator/http/server.ts";
import { HttpBackend } from "../../../provider/http-backend.ts";
import { RawNbdClient } from "../../volumes/helpers.ts";
import type { ConformanceTarget, ConformanceWorld, Disk } from "../target.ts";
import { emulatorDeclarations } from "./emulator-declarations.ts";
import { makeWorkdir } from "../../helpers/cli.ts";

const TOKEN = "conformance-token-5e1d";
const NBD_READ = 0;
const NBD_WRITE = 1;
const NBD_FLUSH = 3;

export const httpTarget: ConformanceTarget = {
  name: "emulator over HTTP",
  async open(): Promise<ConformanceWorld> {
    const dir = makeWorkdir("virtform-conformance-");
    const dataDir = join(dir, "emulator-data");
    const serve = (ports: { port: number; nbdPort: number }) => serveEmulator({ dataDir, token: TOKEN, ...ports, nbdSecurity: "insecure" });
    let server: RunningServer = await serve({ port: 0, nbdPort: 0 });
    const url = server.url;
    const nbdPort = Number(new URL(server.nbdUrl!).port);
    const backend = new HttpBackend({ endpoint: url, token: TOKEN });

    const call = async (method: string, path: string, body?: Buffer): Promise<Response> => {
      const response = await fetch(`${url}/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body && { "content-type": "application/octet-stream" }) },
        ...(body && { body: new Uint8Array(body) }),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response;
    };
    const deviceName = async (instanceId: string, disk: Disk) => {
      if (disk === "local") return "vda";
      const attachment = (await backend.list("Attachment")).find((a) => a.spec.instance === instanceId && a.spec.volume === disk.volume);
      if (!attachment) throw new Error(`instance ${instanceId} has no attachment of ${disk.volume}`);
      return attachment.outputs.device as string;
    };
    /** One NBD connection to a volume's export for `work`. */
    const overNbd = async <T>(volumeId: string, work: (client: RawNbdClient, size: bigint) => Promise<T>): Promise<T> => {
      const client = await RawNbdClient.connect(nbdPort);
      try {
        const { size } = await client.go(volumeId);
        return await work(client, size);
      } finally {
        client.close();
      }
    };
    const nbdRequest = async (client: RawNbdClient, type: number, offset: number, length: number, payload?: Buffer) => {
      const reply = await client.request(type, BigInt(offset), length, payload);
      if (reply.error !== 0) throw new Error(`NBD request ${type} at ${offset}+${length} failed with error ${reply.error}`);
      return reply.data;
    };

    return {
      dir,
      backend,
      declarations: emulatorDeclarations,
      cliEnv: { VIRTFORM_ENDPOINT: url, VIRTFORM_TOKEN: TOKEN },
      beforeCli: async () => undefined,
      outOfBand: {
        deleteInstance: async (id) => void (await call("DELETE", `/instances/${id}`)),
        resizeVolume: async (id, sizeGiB) => {
          const volume = await backend.get("Volume", id);
          if (!volume) throw new Error(`no volume ${id}`);
          await backend.update("Volume", id, { ...volume.spec, sizeGiB }, { restart: false });
        },
        power: async (id, action) => void (await call("POST", `/instances/${id}/actions/${action}`)),
      },
      bytes: {
        writeVolume: (id, offset, data) =>
          overNbd(id, async (client) => {
            await nbdRequest(client, NBD_WRITE, offset, data.length, data);
            await nbdRequest(client, NBD_FLUSH, 0, 0);
          }),
        readVolume: (id, offset, length) => overNbd(id, (client) => nbdRequest(client, NBD_READ, offset, length)),
        volumeSize: (id) => overNbd(id, async (_client, size) => Number(size)),
        async writeDisk(instanceId, disk, offset, data) {
          await call("PUT", `/instances/${instanceId}/devices/${await deviceName(instanceId, disk)}?offset=${offset}`, data);
        },
        async readDisk(instanceId, disk, offset, length) {
          const response = await call("GET", `/instances/${instanceId}/devices/${await deviceName(instanceId, disk)}?offset=${offset}&length=${length}`);
          return Buffer.from(await response.arrayBuffer());
        },
      },
      async restart() {
        await server.close();
        server = await serve({ port: Number(new URL(url).port), nbdPort });
      },
      async dispose() {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
