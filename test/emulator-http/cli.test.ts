// The CLI end to end against `virtform emulator serve` in a child process: apply, a plan with no
// changes, destroy, and inspect, all through VIRTFORM_ENDPOINT / --endpoint and VIRTFORM_TOKEN. A
// refusal and a first apply go through the binary; the other commands run in this process.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/in-process.ts";
import { Api, COLLECTION_NAMES, snapshot } from "./helpers.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/virtform.mjs");
const TOKEN = "cli-e2e-token";

interface Serving {
  child: ChildProcessWithoutNullStreams;
  endpoint: string;
  output: () => string;
}

/** Starts `virtform emulator serve` and waits for the lines it prints. */
async function startServe(args: string[], env: Record<string, string | undefined>, cwd: string): Promise<Serving> {
  const child = spawn(process.execPath, [BIN, "emulator", "serve", "--port", "0", ...args], { cwd, env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const started = Date.now();
  while (!/VIRTFORM_ENDPOINT=\S+\n(.*\n)/.test(out)) {
    if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`emulator serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, endpoint: /VIRTFORM_ENDPOINT=(\S+)/.exec(out)![1]!, output: () => out };
}

async function stopServe(serving: Serving): Promise<number | null> {
  if (serving.child.exitCode !== null) return serving.child.exitCode;
  const exited = new Promise<number | null>((r) => serving.child.once("exit", (code) => r(code)));
  serving.child.kill("SIGTERM");
  return exited;
}

/** The binary: what a user runs. */
function virtform(cwd: string, args: string[], env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, VIRTFORM_ENDPOINT: undefined, VIRTFORM_TOKEN: undefined, NO_COLOR: "1", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same command in this process (test/helpers/in-process.ts): the flows below need no process of their own. */
async function inProcess(cwd: string, args: string[], env: Record<string, string | undefined>) {
  const result = await runInProcess(cwd, args, { VIRTFORM_ENDPOINT: undefined, VIRTFORM_TOKEN: undefined, ...env });
  return { status: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** How many of each kind the emulator holds, read with `virtform emulator inspect --json` in either mode. */
async function counts(cwd: string, env: Record<string, string | undefined>): Promise<Record<string, number>> {
  const inspect = await inProcess(cwd, ["emulator", "inspect", "--json"], env);
  if (inspect.status !== 0) throw new Error(`inspect failed: ${inspect.stderr}`);
  const everything = JSON.parse(inspect.stdout) as Record<string, unknown>;
  return Object.fromEntries(["clusters", "images", "pools", "volumes", "instances", "attachments"].map((c) => [c, Object.keys(everything[c] as object).length]));
}

/** The same user flow for both modes: apply, a plan with no changes, destroy to nothing. */
async function applyPlanDestroy(cwd: string, env: Record<string, string | undefined>): Promise<void> {
  const apply = await inProcess(cwd, ["apply", "infra.ts", "--yes"], env);
  expect(apply.stderr).toBe("");
  expect(apply.status).toBe(0);
  expect(apply.stdout).toContain("Apply complete: 21 created");
  expect(await counts(cwd, env)).toEqual({ clusters: 1, images: 1, pools: 1, volumes: 3, instances: 5, attachments: 10 });
  const plan = await inProcess(cwd, ["plan", "--detailed-exitcode"], env);
  expect(plan.status).toBe(0);
  expect(plan.stdout).toContain("No changes");
  const destroy = await inProcess(cwd, ["destroy", "--yes"], env);
  expect(destroy.status).toBe(0);
  expect(destroy.stdout).toContain("21 deleted");
  expect(await counts(cwd, env)).toEqual({ clusters: 0, images: 0, pools: 0, volumes: 0, instances: 0, attachments: 0 });
}

let work: string;
let serving: Serving;
let api: Api;

beforeAll(async () => {
  work = makeWorkdir("virtform-cli-http-");
  copyFileSync(join(ROOT, "examples/java-appserver/infra.ts"), join(work, "infra.ts"));
  copyFileSync(join(ROOT, "examples/java-appserver/virtform.lock"), join(work, "virtform.lock"));
  serving = await startServe(["--data-dir", join(work, "served-data")], { VIRTFORM_TOKEN: TOKEN }, work);
  api = new Api(serving.endpoint, TOKEN);
});

afterAll(async () => {
  if (serving) await stopServe(serving);
  rmSync(work, { recursive: true, force: true });
});

describe("virtform against a served emulator", () => {
  it("prints the endpoint and does not echo a token it was given", () => {
    expect(serving.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serving.output()).toContain("token: as given (VIRTFORM_TOKEN)");
    expect(serving.output()).not.toContain(TOKEN);
    // Fastify's deprecation warnings (FSTDEP022 for a top-level maxParamLength) are not for users.
    expect(serving.output()).not.toMatch(/FSTDEP|DeprecationWarning|FastifyWarning/);
  });

  it("refuses a wrong token with a clear error and creates nothing", async () => {
    const run = virtform(work, ["apply", "--yes"], { VIRTFORM_ENDPOINT: serving.endpoint, VIRTFORM_TOKEN: "wrong" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("missing or wrong bearer token");
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    for (const items of Object.values(await snapshot(api))) expect(items).toEqual([]);
    const noToken = await inProcess(work, ["plan"], { VIRTFORM_ENDPOINT: serving.endpoint });
    expect(noToken.status).toBe(1);
    expect(noToken.stderr).toContain("set VIRTFORM_TOKEN");
  });

  it("applies, plans no changes, inspects and destroys through the API", async () => {
    const env = { VIRTFORM_ENDPOINT: serving.endpoint, VIRTFORM_TOKEN: TOKEN };
    const apply = virtform(work, ["apply", "infra.ts", "--yes"], env);
    expect(apply.stderr).toBe("");
    expect(apply.status).toBe(0);
    expect(apply.stdout).toContain("Apply complete: 21 created");
    const held = await snapshot(api);
    expect(held.clusters).toHaveLength(1);
    expect(held.instances).toHaveLength(5);
    expect(held.attachments).toHaveLength(10);
    // the embedded emulator was not used
    expect(existsSync(join(work, ".virtform/emulator"))).toBe(false);

    const plan = await inProcess(work, ["plan", "--detailed-exitcode"], env);
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain("No changes");

    // --endpoint works too, and inspect reads the served emulator
    const inspect = await inProcess(work, ["--endpoint", serving.endpoint, "emulator", "inspect", "--json"], { VIRTFORM_TOKEN: TOKEN });
    expect(inspect.status).toBe(0);
    const everything = JSON.parse(inspect.stdout) as { instances: Record<string, { state: string }> };
    expect(Object.values(everything.instances).map((i) => i.state)).toEqual(Array(5).fill("running"));

    const destroy = await inProcess(work, ["destroy", "--yes"], env);
    expect(destroy.status).toBe(0);
    expect(destroy.stdout).toContain("21 deleted");
    const after = await snapshot(api);
    for (const c of COLLECTION_NAMES) expect(after[c], c).toEqual([]);
    const events = (await api.get("/v1/events")).body.items as { type: string }[];
    expect(events.filter((e) => e.type.endsWith(".created"))).toHaveLength(21);
    expect(events.filter((e) => e.type.endsWith(".deleted"))).toHaveLength(21);
  });

  it("runs the same flow on the served emulator and on the embedded one", async () => {
    const served = mkdtempSync(join(work, "served-"));
    copyFileSync(join(ROOT, "examples/java-appserver/infra.ts"), join(served, "infra.ts"));
    copyFileSync(join(ROOT, "examples/java-appserver/virtform.lock"), join(served, "virtform.lock"));
    await applyPlanDestroy(served, { VIRTFORM_ENDPOINT: serving.endpoint, VIRTFORM_TOKEN: TOKEN });
    expect(existsSync(join(served, ".virtform/emulator"))).toBe(false);

    const embedded = mkdtempSync(join(work, "embedded-"));
    copyFileSync(join(ROOT, "examples/java-appserver/infra.ts"), join(embedded, "infra.ts"));
    copyFileSync(join(ROOT, "examples/java-appserver/virtform.lock"), join(embedded, "virtform.lock"));
    await applyPlanDestroy(embedded, {});
    expect(existsSync(join(embedded, ".virtform/emulator/emulator.json"))).toBe(true);
  });

  it("generates and prints a token when none is given, and stops cleanly on SIGTERM", async () => {
    const own = await startServe(["--data-dir", join(work, "other-data")], { VIRTFORM_TOKEN: undefined }, work);
    const token = /VIRTFORM_TOKEN=(\S+)/.exec(own.output())?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const ownApi = new Api(own.endpoint, token);
    expect((await ownApi.get("/v1/clusters")).status).toBe(200);
    expect((await ownApi.withToken(TOKEN).get("/v1/clusters")).status).toBe(401);
    expect(await stopServe(own)).toBe(0);
    expect(own.output()).toContain("virtform emulator stopped");
  });
});
