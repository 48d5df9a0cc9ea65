// Secrets: a kind's secret fields and values the program wraps with secret() are redacted in every
// output and encrypted at rest in state with VIRTFORM_PASSPHRASE. Commands run in process
// (test/helpers/in-process.ts) but the first refusal, which the binary gives.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess, type InProcessResult } from "../helpers/in-process.ts";

const ok = (r: InProcessResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};

const program = (password: string) => `import { stack, secret } from "virtform";
export default stack("secrets", (s) => {
  const img = s.image("app", { base: "debian-12", config: { dbPassword: secret("${password}") }, variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 8, memoryGiB: 32, localDiskGiB: 0 } });
  web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1, userData: "#cloud-config\\npassword: swordfish" });
  return {};
});
`;

/** Every file under the state directory (snapshots, journal, backup, history). */
function stateFiles(dir: string): string {
  const stateDir = join(dir, ".virtform/state");
  return readdirSync(stateDir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => readFileSync(join(f.parentPath, f.name), "utf8"))
    .join("\n");
}

describe("secrets", () => {
  const dir = makeWorkdir();
  const env = { VIRTFORM_PASSPHRASE: "correct horse battery staple" };

  it("apply refuses to write secrets to state without a passphrase, before changing anything", async () => {
    writeProgram(dir, program("hunter2"));
    const result = await runCli(dir, ["apply", "--yes"]); // the binary: its exit code and message
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("image.app, instances.web/app[0] hold secret values, which state keeps encrypted: set VIRTFORM_PASSPHRASE");
  });

  it("plans show (sensitive) instead of secret values, in text and JSON", async () => {
    const text = ok(await runInProcess(dir, ["plan"])).stdout;
    expect(text).toContain('+ config.dbPassword = (sensitive)');
    expect(text).toContain("+ userData = (sensitive)");
    const json = ok(await runInProcess(dir, ["plan", "--json"])).stdout;
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("swordfish");
  });

  it("state holds the secrets encrypted; state show redacts them", async () => {
    const applied = ok(await runInProcess(dir, ["apply", "--yes"], env));
    expect(applied.stdout).not.toContain("hunter2");
    const files = stateFiles(dir);
    expect(files).toContain("$encrypted");
    expect(files).not.toContain("hunter2");
    expect(files).not.toContain("swordfish");
    const shown = ok(await runInProcess(dir, ["state", "show", "instances.web/app[0]"], env)).stdout;
    expect(shown).toContain('userData = "(sensitive)"');
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"], env)).code).toBe(0);
  });

  it("a changed secret is planned without showing either value", async () => {
    writeProgram(dir, program("hunter3"));
    const text = ok(await runInProcess(dir, ["plan"], env)).stdout;
    expect(text).toContain("~ config.dbPassword: (sensitive) -> (sensitive)");
    expect(text).not.toMatch(/hunter[23]/);
  });

  it("a saved plan holding secrets is encrypted, and applying it needs the passphrase", async () => {
    const fresh = makeWorkdir();
    writeProgram(fresh, program("hunter4"));
    const refused = await runInProcess(fresh, ["plan", "--out", "secret.plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the plan holds secret values: set VIRTFORM_PASSPHRASE so that secret.plan keeps them encrypted");

    ok(await runInProcess(dir, ["plan", "--out", "secret.plan"], env));
    const file = readFileSync(join(dir, "secret.plan"), "utf8");
    expect(file).toContain('"encrypted":{"$encrypted":"v2.');
    expect(file).not.toMatch(/hunter|swordfish|dbPassword/);

    const missing = await runInProcess(dir, ["apply", "secret.plan"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Error: saved plan secret.plan holds encrypted secrets: set VIRTFORM_PASSPHRASE");
    const wrong = await runInProcess(dir, ["apply", "secret.plan"], { VIRTFORM_PASSPHRASE: "wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("Error: VIRTFORM_PASSPHRASE does not decrypt saved plan secret.plan");

    const applied = ok(await runInProcess(dir, ["apply", "secret.plan"], env)).stdout;
    expect(applied).toContain("~ config.dbPassword: (sensitive) -> (sensitive)");
    expect(applied).toMatch(/Apply complete: .*1 updated/);
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"], env)).code).toBe(0);
  });

  it("a plan without secrets is saved in clear, for review", async () => {
    const plain = makeWorkdir();
    writeProgram(plain, `import { stack } from "virtform";\nexport default stack("plain", (s) => { s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] }); });\n`);
    ok(await runInProcess(plain, ["plan", "--out", "plain.plan"]));
    expect(JSON.parse(readFileSync(join(plain, "plain.plan"), "utf8")).plan.changes[0].address).toBe("pool.p");
  });

  it("a wrong or missing passphrase is a clear error, not a crash", async () => {
    const wrong = await runInProcess(dir, ["plan"], { VIRTFORM_PASSPHRASE: "wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("Error: VIRTFORM_PASSPHRASE does not decrypt the secrets in state: it is not the passphrase they were encrypted with");
    const missing = await runInProcess(dir, ["state", "list"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Error: state holds encrypted secrets: set VIRTFORM_PASSPHRASE");
  });

  it("a damaged encrypted value is reported as damaged, with the snapshot to restore, not as a wrong passphrase", async () => {
    const file = join(dir, ".virtform/state/secrets.json");
    const good = readFileSync(file, "utf8");
    // One character of one ciphertext changed, as a disk fault or a bad edit would.
    const damaged = good.replace(/("\$encrypted": "v2\.[^"]*\.)([A-Za-z0-9+/])/, (_m, head: string, c: string) => head + (c === "A" ? "B" : "A"));
    expect(damaged).not.toBe(good);
    writeFileSync(file, damaged);
    try {
      const right = await runInProcess(dir, ["state", "list"], env);
      expect(right.code).toBe(1);
      expect(right.stderr).toMatch(/Error: state file \S+secrets\.json: an encrypted value at resources\["[^"]+"\]\.\S+ is damaged \(its ciphertext fails authentication\); the passphrase is right/);
      expect(right.stderr).toMatch(/The newest kept snapshot that parses is \S+history\/secrets\/\d+\.json/);
      expect(right.stderr).not.toContain("not the passphrase");
      const wrong = await runInProcess(dir, ["state", "list"], { VIRTFORM_PASSPHRASE: "wrong" });
      expect(wrong.stderr).toContain("Error: VIRTFORM_PASSPHRASE does not decrypt the secrets in state: it is not the passphrase they were encrypted with");
    } finally {
      writeFileSync(file, good);
    }
  });
});

describe("secret stack outputs", () => {
  const dir = makeWorkdir();
  const env = { VIRTFORM_PASSPHRASE: "correct horse battery staple" };
  const outputs = `import { stack, secret } from "virtform";
export default stack("outputs", (s) => {
  const pool = s.storagePool("p", { media: "ssd", devices: [{ sizeGiB: 10 }] });
  const v = pool.volume("v", { sizeGiB: 1 });
  return { token: secret("tok-123"), nested: { key: secret("k-456"), size: 1 }, volumeId: v.id };
});
`;

  it("apply needs the passphrase, then shows them redacted; state keeps them encrypted", async () => {
    writeProgram(dir, outputs);
    const refused = await runInProcess(dir, ["apply", "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("output token, output nested.key hold secret values, which state keeps encrypted: set VIRTFORM_PASSPHRASE");

    const applied = ok(await runInProcess(dir, ["apply", "--yes"], env)).stdout;
    expect(applied).toContain('token = "(sensitive)"');
    expect(applied).toContain('nested = {"key":"(sensitive)","size":1}');
    expect(applied).toMatch(/volumeId = "vol-/);
    expect(stateFiles(dir)).not.toMatch(/tok-123|k-456/);
  });

  it("output lists and JSON redact them unless --show-secrets; one output by name is printed", async () => {
    const list = ok(await runInProcess(dir, ["output"], env)).stdout;
    expect(list).toContain('token = "(sensitive)"');
    expect(list).not.toMatch(/tok-123|k-456/);
    const json = JSON.parse(ok(await runInProcess(dir, ["output", "--json"], env)).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ token: "(sensitive)", nested: { key: "(sensitive)", size: 1 } });
    const shown = JSON.parse(ok(await runInProcess(dir, ["output", "--json", "--show-secrets"], env)).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ token: "tok-123", nested: { key: "k-456", size: 1 } });
    expect(ok(await runInProcess(dir, ["output", "token"], env)).stdout).toBe("tok-123\n");
    expect((await runInProcess(dir, ["plan", "--detailed-exitcode"], env)).code).toBe(0);
  });

  it("Changes to Outputs redacts them, old value and new", async () => {
    writeProgram(dir, outputs.replace("tok-123", "tok-999"));
    const plan = ok(await runInProcess(dir, ["plan"], env)).stdout;
    expect(plan).toContain('~ token = "(sensitive)" -> "(sensitive)"');
    expect(plan).not.toMatch(/tok-123|tok-999|k-456/);
  });
});
