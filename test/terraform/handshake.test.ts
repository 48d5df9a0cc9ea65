// The plugin process as go-plugin starts it: without Terraform's magic cookie it refuses to run; with
// it, its first stdout line is the handshake, naming protocol 6, a loopback port and its certificate,
// and it answers gRPC over mutual TLS (here @grpc/grpc-js's client, another implementation than ours)
// until GRPCController.Shutdown ends it.
import * as grpc from "@grpc/grpc-js";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toPacked } from "../../provider/terraform/codec.ts";
import { CONSTANT_PATHS } from "../../provider/terraform/fixed-replies.ts";
import { encode } from "../../provider/terraform/msgpack.ts";
import { readSchemas } from "../../provider/terraform/schemas-file.ts";
import { loadMethods } from "../../provider/terraform/protocol.ts";
import { providerService } from "../../provider/terraform/provider-service.ts";
import { MAGIC_COOKIE, methodTable } from "../../provider/terraform/server.ts";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";
import { launch, pluginPath as plugin } from "./plugin-process.ts";

const methods = loadMethods();
/** Loaded with --import into the plugin: it logs every module the plugin loads to $VIRTFORM_MODULE_LOG. */
const hook = pathToFileURL(join(repoRoot, "test", "terraform", "module-log.mjs")).href;

describe("terraform-provider-virtform's handshake", () => {
  it("refuses to run outside Terraform", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const { [MAGIC_COOKIE.key]: _, ...env } = process.env;
      execFile(plugin, [], { env }, (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is a Terraform plugin: Terraform starts it");
  });

  describe("as Terraform starts it", () => {
    let plugin: Awaited<ReturnType<typeof launch>>;
    let line: string;
    let connection: grpc.Client;
    const call: Awaited<ReturnType<typeof launch>>["call"] = (...args) => plugin.call(...args);
    const exited = () => plugin.exited();

    beforeAll(async () => {
      plugin = await launch();
      ({ line, connection } = plugin);
    });
    afterAll(() => plugin?.close());

    it("prints 1|6|tcp|127.0.0.1:<port>|grpc|<its certificate, base64 without padding>", () => {
      const match = /^1\|6\|tcp\|127\.0\.0\.1:(\d+)\|grpc\|([A-Za-z0-9+/]+)$/.exec(line);
      expect(match, line).not.toBeNull();
      const cert = new X509Certificate(Buffer.from(match![2]!, "base64"));
      expect(cert.subjectAltName).toBe("DNS:localhost");
      expect(cert.verify(cert.publicKey)).toBe(true);
    });

    it("serves the health check and the provider's methods", async () => {
      expect(await call("/grpc.health.v1.Health/Check", {})).toEqual({ reply: { status: 1 } });
      const { reply } = (await call("/tfplugin6.Provider/GetMetadata", {})) as { reply: { resources: { type_name: string }[] } };
      expect(reply.resources.map((r) => r.type_name)).toContain("virtform_volume");
      // A refusal is a diagnostic in the reply, with the attribute's path.
      const { reply: validated } = (await call("/tfplugin6.Provider/ValidateResourceConfig", { type_name: "virtform_nothing" })) as { reply: { diagnostics: { summary: string }[] } };
      expect(validated.diagnostics[0]!.summary).toBe("Unknown resource type virtform_nothing");
    });

    it("answers a method it does not serve with UNIMPLEMENTED", async () => {
      const { error } = await call("/tfplugin6.Provider/NoSuchMethod", {});
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(error?.details).toBe("unknown method /tfplugin6.Provider/NoSuchMethod");
    });

    it("opens the stdio stream and leaves it open", async () => {
      const stream = connection.makeServerStreamRequest("/plugin.GRPCStdio/StreamStdio", () => Buffer.alloc(0), (bytes: Buffer) => bytes, {});
      stream.on("error", () => undefined); // the cancel below
      const headers = await new Promise<grpc.Metadata>((resolve) => stream.once("metadata", resolve));
      expect(headers.get("content-type")).toEqual(["application/grpc"]);
      // Still open while a unary call goes through beside it.
      expect(await call("/grpc.health.v1.Health/Check", {})).toEqual({ reply: { status: 1 } });
      stream.cancel();
    });

    it("exits on Shutdown", async () => {
      expect(await call("/plugin.GRPCController/Shutdown", {})).toEqual({ reply: {} });
      expect(await exited()).toBe(0);
    });
  });

  // Terraform's first launch of every command asks for the schema only: it is answered from the
  // generated fixed replies, and the launch loads neither zod and the kinds nor protobufjs.
  describe("a launch asked only what never changes", () => {
    const moduleLog = join(makeWorkdir("virtform-modules-"), "modules.txt");
    const derived = methodTable(methods, providerService({ cwd: "/nowhere", owner: { stack: "terraform:/test", lineage: "terraform" } }), () => undefined);
    let plugin: Awaited<ReturnType<typeof launch>>;

    beforeAll(async () => {
      plugin = await launch({ NODE_OPTIONS: `--import=${hook}`, VIRTFORM_MODULE_LOG: moduleLog });
    });
    afterAll(() => plugin?.close());

    it("answers byte for byte what the service derived from the kinds answers, and loads nothing of it", async () => {
      for (const path of CONSTANT_PATHS.filter((p) => !p.endsWith("/Shutdown"))) {
        const method = derived.get(path)!;
        const expected = Buffer.from(method.encode(await method.call!(method.decode(new Uint8Array()))));
        expect(expected.length, path).toBeGreaterThan(0);
        expect(await plugin.call(path, {}, true), path).toEqual({ reply: expected });
      }
      expect(await plugin.call("/plugin.GRPCBroker/StartStream", {})).toMatchObject({ error: { code: grpc.status.UNIMPLEMENTED } });
      expect(await plugin.call("/plugin.GRPCController/Shutdown", {})).toEqual({ reply: {} });
      expect(await plugin.exited()).toBe(0);
      const loaded = readFileSync(moduleLog, "utf8").split("\n");
      expect(loaded.some((url) => url.endsWith("/provider/terraform/server.ts"))).toBe(true); // the log works
      for (const heavy of ["/node_modules/zod/", "/sdk/kinds/", "/node_modules/protobufjs/", "/provider/terraform/provider-service.ts"]) {
        expect(loaded.filter((url) => url.includes(heavy)), heavy).toEqual([]);
      }
    });
  });

  // The plugin loads zod's English locale alone at start (core/zod-locales.ts): its messages are unchanged.
  describe("a launch that validates", () => {
    const moduleLog = join(makeWorkdir("virtform-modules-"), "modules.txt");
    let plugin: Awaited<ReturnType<typeof launch>>;

    beforeAll(async () => {
      plugin = await launch({ NODE_OPTIONS: `--import=${hook}`, VIRTFORM_MODULE_LOG: moduleLog });
    });
    afterAll(() => plugin?.close());

    it("reports zod's English messages, and loads no other locale", async () => {
      const shape = { type: "object" as const, attributes: readSchemas().resources.get("virtform_cluster")!.attributes };
      const config = { msgpack: encode(toPacked({ hypervisor: "native", hosts: { count: 0, vcpu: 8, memoryGiB: 4, localDiskGiB: 1 } }, shape)) };
      const { reply } = (await plugin.call("/tfplugin6.Provider/ValidateResourceConfig", { type_name: "virtform_cluster", config })) as { reply: { diagnostics: { detail: string }[] } };
      expect(reply.diagnostics.map((d) => d.detail)).toEqual(["Too small: expected number to be >=1 (the Cluster field hosts.count)"]);
      const locales = readFileSync(moduleLog, "utf8").split("\n").filter((url) => url.includes("/node_modules/zod/v4/locales/"));
      // The index (rewritten to load the others on first use) and English.
      expect(locales.map((url) => url.replace(/.*\/locales\//, "")).sort()).toEqual(["en.js", "index.js"]);
    });
  });
});
