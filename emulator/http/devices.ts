// The data path through an instance: GET and PUT bytes of a device of a running instance, the bytes
// its local disk holds, and the bytes behind a storage pool (GET /v1/pools/{id}/data). Only the real emulator has bytes: these
// routes are not offered on rehearsals.
import type { FastifyInstance } from "fastify";
import { storageToEmulator } from "../data-plane.ts";
import type { Emulator } from "../emulator.ts";
import { EmulatorError } from "../errors.ts";
import { pathId, queryNumber, wholeNumber } from "./params.ts";

/** Largest read or write of one request; clients loop for more. */
export const MAX_DEVICE_IO_BYTES = 64 * 1024 * 1024;

const offsetSchema = wholeNumber(Number.MAX_SAFE_INTEGER);
const lengthSchema = wholeNumber(MAX_DEVICE_IO_BYTES);

export async function deviceRoutes(scope: FastifyInstance, options: { emulator: Emulator }): Promise<void> {
  const plane = options.emulator.dataPlane;
  const dataPlane = () => {
    if (!plane) throw new EmulatorError("conflict", "this emulator keeps no bytes (in-memory)");
    return plane;
  };
  scope.addContentTypeParser("application/octet-stream", { parseAs: "buffer", bodyLimit: MAX_DEVICE_IO_BYTES }, (_request, body, done) =>
    done(null, body),
  );

  scope.get("/pools/:id/data", async (request) => {
    const id = pathId((request.params as { id: string }).id, "StoragePool");
    if (!options.emulator.get("StoragePool", id)) throw new EmulatorError("not-found", `StoragePool ${id} does not exist`);
    return dataPlane().poolUsage(id).catch(storageToEmulator);
  });

  // What the review's data-loss findings read of a local disk a change would wipe: the bytes it holds.
  scope.get("/instances/:id/local-disk", async (request) => {
    const id = pathId((request.params as { id: string }).id, "Instance");
    if (!options.emulator.get("Instance", id)) throw new EmulatorError("not-found", `Instance ${id} does not exist`);
    return { writtenBytes: (await dataPlane().localDiskWrittenBytes(id)) ?? null };
  });

  scope.get("/instances/:id/devices/:name", async (request, reply) => {
    const { id, name } = request.params as { id: string; name: string };
    const q = request.query as { offset?: unknown; length?: unknown };
    const offset = queryNumber(q.offset, "offset", offsetSchema) ?? 0;
    const asked = queryNumber(q.length, "length", lengthSchema);
    const { device } = await dataPlane().instanceDevice(pathId(id, "instance"), name, "read");
    const length = asked ?? Math.min(MAX_DEVICE_IO_BYTES, Math.max(0, device.sizeBytes - offset));
    const bytes = await device.read(offset, length).catch(storageToEmulator);
    return reply.type("application/octet-stream").header("x-device-size", String(device.sizeBytes)).send(bytes);
  });

  // A write answers once its bytes are durable (flushed), so "written" means "survives a crash".
  scope.put("/instances/:id/devices/:name", async (request, reply) => {
    const { id, name } = request.params as { id: string; name: string };
    const q = request.query as { offset?: unknown; length?: unknown };
    const body = request.body;
    if (!Buffer.isBuffer(body)) throw new EmulatorError("invalid", "send the bytes as the body with content-type application/octet-stream");
    const offset = queryNumber(q.offset, "offset", offsetSchema) ?? 0;
    const length = queryNumber(q.length, "length", lengthSchema);
    if (length !== undefined && length !== body.length) {
      throw new EmulatorError("invalid", `length ${length} does not match the ${body.length} bytes sent`);
    }
    const { device } = await dataPlane().instanceDevice(pathId(id, "instance"), name, "write");
    await device.write(offset, body).catch(storageToEmulator);
    await device.flush().catch(storageToEmulator);
    return reply.code(204).send();
  });
}
