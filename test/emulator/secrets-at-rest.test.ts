// Secrets in the emulator's data dir: an instance's userData (the kind's secret field) and values a
// client marks secret (a program's secret()) are sealed in emulator.json and in every journal line,
// with a key made once (secrets.key, mode 0600) or derived from a passphrase; reads still give the
// real values, `inspect` redacts them unless asked. Through the HTTP API and the CLI.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { serveEmulator } from "../../emulator/http/server.ts";
import { Api, TOKEN, specs } from "../emulator-http/helpers.ts";
import { makeWorkdir, runCli, writeProgram, type CliResult } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

const USER_DATA = "#cloud-config\npassword: swordfish";
const DB_PASSWORD = "hunter2";

/** Every file of the data dir, as text: what a grep, a backup or a bug report would see. */
function dataDirText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith(".img"))
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"))
    .join("\n");
}

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

describe("secrets at rest through the HTTP API", () => {
  const dataDir = makeWorkdir("virtform-secrets-");
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it("seals them in the journal and the snapshot with a generated key, opens them after a restart, redacts them in inspect", async () => {
    const server = await serveEmulator({ dataDir, token: TOKEN, port: 0 });
    const api = new Api(server.url, TOKEN);
    const cluster = (await api.post("/v1/clusters", { name: "cluster.web", spec: { ...specs.cluster, hosts: { ...specs.cluster.hosts, localDiskGiB: 0 } } })).body;
    const imageSpec = { ...specs.image, config: { dbPassword: DB_PASSWORD } };
    const image = await api.post("/v1/images", { name: "image.app", spec: imageSpec, secretPaths: ["config.dbPassword"] });
    expect(image.status).toBe(201);
    const digest = image.body.outputs.variants.light.digest;
    const instanceSpec = { ...specs.instance(cluster.id, image.body.id, digest), localDiskGiB: 0, userData: USER_DATA };
    const instance = await api.post("/v1/instances", { name: "instances.web/app[0]", spec: instanceSpec });
    expect(instance.status).toBe(201);

    // Still running: the changes are in the journal, sealed there too.
    expect(readdirSync(dataDir)).toContain("emulator.journal");
    const files = dataDirText(dataDir);
    expect(files).toContain('"$sealed"');
    expect(files).not.toContain("swordfish");
    expect(files).not.toContain(DB_PASSWORD);
    const keyFile = join(dataDir, "secrets.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const redacted = JSON.stringify((await api.get("/v1/inspect")).body);
    expect(redacted).not.toContain("swordfish");
    expect(redacted).not.toContain(DB_PASSWORD);
    const inspected = (await api.get("/v1/inspect")).body;
    expect(inspected.instances[instance.body.id].spec.userData).toBe("(sensitive)");
    expect(inspected.images[image.body.id].spec.config.dbPassword).toBe("(sensitive)");
    expect(inspected.images[image.body.id].variants.light.config.dbPassword).toBe("(sensitive)");
    const shown = (await api.get("/v1/inspect?showSecrets=true")).body;
    expect(shown.instances[instance.body.id].spec.userData).toBe(USER_DATA);
    expect(shown.images[image.body.id].variants.light.config.dbPassword).toBe(DB_PASSWORD);
    await server.close();

    // Folded into the snapshot: sealed; opened again on the next start, with no passphrase needed.
    expect(readdirSync(dataDir)).not.toContain("emulator.journal");
    expect(dataDirText(dataDir)).not.toContain("swordfish");
    const again = await serveEmulator({ dataDir, token: TOKEN, port: 0 });
    closers.push(() => again.close());
    const read = (await new Api(again.url, TOKEN).get(`/v1/instances/${instance.body.id}`)).body;
    expect(read.spec.userData).toBe(USER_DATA);
    const img = (await new Api(again.url, TOKEN).get(`/v1/images/${image.body.id}`)).body;
    expect(img.spec.config.dbPassword).toBe(DB_PASSWORD);
  });

  it("with a passphrase, keeps no key in the data dir and refuses a wrong one; data of an earlier version is sealed when opened", () => {
    const dir = makeWorkdir("virtform-secrets-");
    const emulator = Emulator.open(dir, { passphrase: "correct horse" });
    const cluster = emulator.create("Cluster", { ...specs.cluster, hosts: { ...specs.cluster.hosts, localDiskGiB: 0 } }, { name: "cluster.web" });
    const image = emulator.create("Image", specs.image, { name: "image.app" });
    const digest = (image.outputs.variants as Record<string, { digest: string }>).light!.digest;
    emulator.create("Instance", { ...specs.instance(cluster.id, image.id, digest), localDiskGiB: 0, userData: USER_DATA }, { name: "instances.web/app[0]" });
    emulator.snapshot();
    const key = JSON.parse(readFileSync(join(dir, "secrets.key"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(key).sort()).toEqual(["passphrase", "version"]);
    expect(dataDirText(dir)).not.toContain("swordfish");
    expect(() => Emulator.readDataDir(dir, { passphrase: "wrong" })).toThrow(/VIRTFORM_PASSPHRASE does not open the secrets of the emulator's data/);
    expect(() => Emulator.readDataDir(dir, { passphrase: undefined })).toThrow(/holds secrets encrypted with VIRTFORM_PASSPHRASE: set it/);
    expect(Object.values(Emulator.readDataDir(dir, { passphrase: "correct horse" }).instances)[0]!.spec.userData).toBe(USER_DATA);

    // As an earlier version left it: everything in clear, no key. The next open seals it.
    writeFileSync(join(dir, "emulator.json"), JSON.stringify(Emulator.readDataDir(dir, { passphrase: "correct horse" })));
    rmSync(join(dir, "secrets.key"));
    expect(readFileSync(join(dir, "emulator.json"), "utf8")).toContain("swordfish");
    Emulator.open(dir, { passphrase: undefined });
    expect(dataDirText(dir)).not.toContain("swordfish");
    expect(Object.values(Emulator.readDataDir(dir, { passphrase: undefined }).instances)[0]!.spec.userData).toBe(USER_DATA);
  });
});

describe("secrets at rest through the CLI", () => {
  const program = `import { stack, secret } from "virtform";
export default stack("secrets", (s) => {
  const img = s.image("app", { base: "debian-12", config: { dbPassword: secret("${DB_PASSWORD}") }, variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1, userData: ${JSON.stringify(USER_DATA)} });
  return {};
});
`;

  it("apply leaves no secret in the data dir; inspect redacts in text and JSON unless --show-secrets; the next run reads them back", async () => {
    const dir = makeWorkdir();
    const env = { VIRTFORM_PASSPHRASE: "correct horse battery staple" };
    writeProgram(dir, program);
    ok(await runCli(dir, ["apply", "--yes"], env));
    const files = dataDirText(join(dir, ".virtform", "emulator"));
    expect(files).not.toContain("swordfish");
    expect(files).not.toContain(DB_PASSWORD);

    const text = ok(await runInProcess(dir, ["emulator", "inspect"], env)).stdout;
    expect(text).toContain("userData: (sensitive)");
    expect(text).toContain("config.dbPassword: (sensitive)");
    const json = ok(await runInProcess(dir, ["emulator", "inspect", "--json"], env)).stdout;
    expect(json).toContain('"userData": "(sensitive)"');
    expect(json).not.toContain("swordfish");
    expect(json).not.toContain(DB_PASSWORD);
    const shown = ok(await runInProcess(dir, ["emulator", "inspect", "--json", "--show-secrets"], env)).stdout;
    const instances = Object.values((JSON.parse(shown) as { instances: Record<string, { spec: { userData: string } }> }).instances);
    expect(instances.map((i) => i.spec.userData)).toEqual([USER_DATA]);
    expect(shown).toContain(DB_PASSWORD);

    // Runs after the applying process open the sealed values: the provider reads what state holds, so nothing drifts.
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"], env)).code).toBe(0);
    const refused = await runInProcess(dir, ["emulator", "inspect"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error: the emulator's data in .* holds secrets encrypted with VIRTFORM_PASSPHRASE: set it/);
  });
});
