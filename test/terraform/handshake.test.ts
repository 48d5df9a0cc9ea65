// The plugin process as go-plugin starts it: without Terraform's magic cookie it refuses to run; with
// it, its first stdout line is the handshake, naming protocol 6, a loopback port and its certificate.
import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { selfSignedCertificate } from "../../provider/terraform/certificate.ts";
import { MAGIC_COOKIE } from "../../provider/terraform/server.ts";
import { repoRoot } from "../helpers/cli.ts";

const plugin = join(repoRoot, "bin", "terraform-provider-virtform");

describe("terraform-provider-virtform's handshake", () => {
  it("refuses to run outside Terraform", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const { [MAGIC_COOKIE.key]: _, ...env } = process.env;
      execFile(plugin, [], { env }, (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is a Terraform plugin: Terraform starts it");
  });

  it("prints 1|6|tcp|127.0.0.1:<port>|grpc|<its certificate, base64 without padding>", async () => {
    const client = selfSignedCertificate(); // what Terraform passes: its own client certificate
    const child = spawn(plugin, [], { env: { ...process.env, [MAGIC_COOKIE.key]: MAGIC_COOKIE.value, PLUGIN_CLIENT_CERT: client.certPem }, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve) => {
        let text = "";
        child.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes("\n")) resolve(text.split("\n")[0]!);
        });
      });
      const match = /^1\|6\|tcp\|127\.0\.0\.1:(\d+)\|grpc\|([A-Za-z0-9+/]+)$/.exec(line);
      expect(match, line).not.toBeNull();
      const cert = new X509Certificate(Buffer.from(match![2]!, "base64"));
      expect(cert.subjectAltName).toBe("DNS:localhost");
      expect(cert.verify(cert.publicKey)).toBe(true);
    } finally {
      child.kill();
    }
  });
});
