// `virtform plan|apply --pulumi` on programs that compute inputs from other resources' outputs
// (apply, interpolate): what reads an output not applied yet is deferred, and apply runs the program
// again with the real outputs until everything is known. Real programs, the real CLI, the embedded emulator.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, repoRoot, runCli } from "../helpers/cli.ts";

const SLOW = 120_000;

interface Dumped {
  id: string;
  name: string;
  spec: Record<string, unknown>;
}

/** The emulator's volumes by name: size and source, the source by its object's name. */
function volumes(dir: string): Record<string, { sizeGiB: unknown; source: unknown }> {
  const data = Emulator.readDataDir(join(dir, ".virtform/emulator")) as unknown as Record<string, Record<string, Dumped>>;
  const names = new Map(Object.values(data.volumes ?? {}).map((v) => [v.id, v.name]));
  return Object.fromEntries(
    Object.values(data.volumes ?? {}).map((v) => [v.name, { sizeGiB: v.spec.sizeGiB, source: v.spec.source === undefined ? undefined : names.get(v.spec.source as string) }]),
  );
}

function project(index: string): string {
  const dir = makeWorkdir("virtform-pulumi-passes-");
  const files = { "Pulumi.yaml": "name: acme\nruntime: nodejs\n", "package.json": '{ "name": "acme", "private": true, "type": "module" }\n', "index.ts": index };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const header = `import * as pulumi from "@pulumi/pulumi";
import * as virtform from "virtform/pulumi";
const pool = new virtform.storage.StoragePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
const a = new virtform.storage.Volume("a", { pool: pool.id, sizeGiB: 1 });
`;

describe("Pulumi programs that compute inputs from outputs", () => {
  it("previews what is known and defers the rest; apply runs the program again until an interpolate, an apply chain two deep and an output are known; a rerun changes nothing", async () => {
    const dir = project(
      header +
        // b: a template string and an apply over a's id; c: an apply over b's id (b is itself deferred); s takes c's id as it is.
        `const b = new virtform.storage.Volume("b", { pool: pool.id, sizeGiB: a.id.apply((id) => (id.startsWith("vol-") ? 2 : 1)), source: pulumi.interpolate\`\${a.id}\` });
const c = new virtform.storage.Volume("c", { pool: pool.id, sizeGiB: 3, source: b.id.apply((id) => id) });
new virtform.storage.Snapshot("s", { volume: c.id });
export const ids = pulumi.interpolate\`\${a.id},\${c.id}\`;
`,
    );
    const preview = await runCli(dir, ["plan", "--pulumi"]);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain("+ volume.a will be created");
    expect(preview.stdout).not.toContain("volume.b will be created");
    expect(preview.stdout).toContain(
      "Deferred (known after apply: planned in a later pass, once what they read is applied):\n" +
        "  ~ volume.b: sizeGiB is computed from volume.a; source is computed from volume.a  # index.ts:5\n" +
        "  ~ volume.c: source is computed from volume.b  # index.ts:6\n" +
        "  ~ snapshot.s: waits for volume.c  # index.ts:7\n" +
        "  outputs ids: known after apply\n",
    );

    // plan --json lists them as Terraform lists deferred changes.
    const json = await runCli(dir, ["plan", "--pulumi", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const planned = JSON.parse(json.stdout) as { deferred_changes: { address: string; reason: string; unknown_inputs: { path: string; computed_from: string[] }[]; waits_for: string[] }[]; deferred_outputs: string[] };
    expect(planned.deferred_changes.map((d) => [d.address, d.reason, d.unknown_inputs.map((u) => `${u.path}<-${u.computed_from.join(",")}`).join(" "), d.waits_for.join(",")])).toEqual([
      ["volume.b", "inputs_unknown", "sizeGiB<-volume.a source<-volume.a", ""],
      ["volume.c", "inputs_unknown", "source<-volume.b", ""],
      ["snapshot.s", "waits_for", "", "volume.c"],
    ]);
    expect(planned.deferred_outputs).toEqual(["ids"]);

    // The graph draws the deferred resources too, dashed, with what they are computed from.
    const graph = await runCli(dir, ["graph", "--pulumi"]);
    expect(graph.code, graph.stderr).toBe(0);
    expect(graph.stdout).toContain('"volume.b" [label="volume.b\\nVolume (known after apply)", style=dashed];');
    expect(graph.stdout).toContain('"volume.b" -> "volume.a" [style=dashed];');
    expect(graph.stdout).toContain('"snapshot.s" -> "volume.c" [style=dashed];');

    const applied = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/Pass 2: [^]*\+ volume\.b will be created[^]*Pass 3: [^]*\+ volume\.c will be created[^]*\+ snapshot\.s will be created/);
    expect(applied.stdout).toContain("Apply complete: 5 created, 0 updated, 0 deleted.");
    expect(applied.stdout).toMatch(/Outputs:\n {2}ids = "vol-\d+,vol-\d+"/);
    expect(volumes(dir)).toEqual({
      "volume.a": { sizeGiB: 1, source: undefined },
      "volume.b": { sizeGiB: 2, source: "volume.a" },
      "volume.c": { sizeGiB: 3, source: "volume.b" },
    });

    const again = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("No changes. Stack acme.dev matches the program.\n\nApply complete: nothing to do.\n");
  }, SLOW);

  it("a saved plan of one pass says, when applied, what it left for later; apply --pulumi applies the rest", async () => {
    const dir = project(header + "new virtform.storage.Volume(\"b\", { pool: pool.id, sizeGiB: 2, source: pulumi.interpolate`${a.id}` });\n");
    const planned = await runCli(dir, ["plan", "--pulumi", "--out", "plan.json"]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain("Saved the plan to plan.json. Apply exactly it with: virtform apply plan.json; it is this pass only: then `virtform apply --pulumi .` plans and applies the rest");
    const applied = await runCli(dir, ["apply", "plan.json"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("This plan was one pass of a Pulumi program known in passes; not in it: volume.b (deferred), any deletions. Run `virtform apply --pulumi .`");
    expect(Object.keys(volumes(dir))).toEqual(["volume.a"]);
    const rest = await runCli(dir, ["apply", "--pulumi", "--yes"]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(Object.keys(volumes(dir)).sort()).toEqual(["volume.a", "volume.b"]);
  }, SLOW);

  it("reports an error thrown in an apply callback by the program's line, keeping what earlier passes applied; converges after a kill -9 between passes", async () => {
    const failing = project(
      header + `new virtform.storage.Volume("b", { pool: pool.id, sizeGiB: a.id.apply((id) => { if (id.startsWith("vol-")) throw new Error(\`no size for \${id}\`); return 1; }) });\n`,
    );
    const killed = project(header + `new virtform.storage.Volume("b", { pool: pool.id, sizeGiB: 1, source: pulumi.interpolate\`\${a.id}\` });\n`);
    // Records: the pool's pending create and result, then a's: killed before the 5th, b's pending create in pass 2.
    const killAt = fileURLToPath(new URL("../helpers/kill-at-record.ts", import.meta.url));
    const [failed, signal] = await Promise.all([
      runCli(failing, ["apply", "--pulumi", "--yes"]),
      new Promise<string | number>((resolve) =>
        execFile(
          process.execPath,
          ["--import", killAt, join(repoRoot, "bin/virtform.mjs"), "apply", "--pulumi", "--yes", "--parallelism", "1"],
          { cwd: killed, env: { ...process.env, NO_COLOR: "1", VIRTFORM_KILL_AT: "before:5" } },
          (error, stdout) => resolve(error ? `${error.signal ?? error.code} ${stdout.includes("Pass 2:") ? "in pass 2" : ""}` : 0),
        ),
      ),
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Error: the Pulumi program index\.ts failed:\n {2}Error: (error serializing property "sizeGiB": )?no size for vol-\d+\n\s+at .*index\.ts:5:\d+\n$/);
    expect(failed.stdout).toContain("volume.a: created");
    expect(Object.keys(volumes(failing))).toEqual(["volume.a"]);

    expect(signal).toBe("SIGKILL in pass 2");
    expect(volumes(killed)).toEqual({ "volume.a": { sizeGiB: 1, source: undefined } });
    const resumed = await runCli(killed, ["apply", "--pulumi", "--yes"]);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("Apply complete: 1 created, 0 updated, 0 deleted.");
    expect(volumes(killed)).toEqual({ "volume.a": { sizeGiB: 1, source: undefined }, "volume.b": { sizeGiB: 1, source: "volume.a" } });
  }, SLOW);

  it("images lock refuses, by name, an image known only after apply; the other images commands take what the first pass knows", async () => {
    const packages = join(repoRoot, "test/images/fixtures/Packages");
    const dir = project(
      header +
        `new virtform.images.Image("app", { base: "debian-12", packages: a.id.apply(() => ["jdk"]), variants: { light: {} } });
const b = new virtform.storage.Volume("b", { pool: pool.id, sizeGiB: 1, source: a.id.apply((id) => id) });
new virtform.images.Image("web", { base: "debian-12", variants: { light: {} } }, { dependsOn: [b] });
new virtform.images.Image("db", { base: "debian-12", packages: ["jdk"], variants: { light: {} } });
`,
    );
    const [refused, why] = await Promise.all([runCli(dir, ["images", "lock", ".", "--packages", packages]), runCli(dir, ["images", "why", "jdk", ".", "--packages", packages])]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "cannot lock images known only after apply:\n  image.app (index.ts:5): packages is computed from volume.a\n  image.web (index.ts:7): waits for volume.b\n",
    );
    expect(existsSync(join(dir, "virtform.lock"))).toBe(false);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain("image.db:light");
  }, SLOW);
});
