// `virtform review` through the binary: --base on a temporary git repository (sources through a
// helper and a loop, ignore comments, every format), and a review planned against applied state.
// What checks no source line runs in process (test/helpers/in-process.ts): a program loaded inside
// vitest reports lines of its transformed text.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Emulator } from "../../emulator/emulator.ts";
import { makeWorkdir, runCli, writeProgram } from "../helpers/cli.ts";
import { runInProcess } from "../helpers/in-process.ts";

const base = `import { stack, type StoragePool } from "virtform";

function dataVolume(pool: StoragePool, name: string) {
  return pool.volume(name, { sizeGiB: 10 }, { protect: true });
}

export default stack("shop", (s) => {
  const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 1024 }] });
  const slow = s.storagePool("slow", { media: "hdd", devices: [{ sizeGiB: 1024 }] });
  const image = s.image("app", { base: "debian-12", packages: ["tomcat10 (>= 10)"], variants: { light: {} } });
  const web = s.cluster("web", { hypervisor: "native", hosts: { count: 2, vcpu: 16, memoryGiB: 64, localDiskGiB: 100 } });
  web.instances("app", { count: 3, image: image.variant("light"), vcpu: 2, memoryGiB: 4, localDiskGiB: 10 });
  for (const name of ["logs"]) {
    dataVolume(fast, name);
  }
  // virtform-review-ignore protection scratch space, rebuilt from logs
  fast.volume("scratch", { sizeGiB: 5 });
  return {};
});
`;

/** The change under review: a pool switch inside the helper, a scale-down, an unpinned package, an ignore without a reason. */
const head = base
  .replace("return pool.volume(name, { sizeGiB: 10 }, { protect: true });", "return pool.volume(name, { sizeGiB: 10 });")
  .replace("dataVolume(fast, name);", "dataVolume(slow, name);")
  .replace("count: 3", "count: 2")
  .replace('packages: ["tomcat10 (>= 10)"]', 'packages: ["tomcat10 (>= 10)", "curl"]')
  .replace("// virtform-review-ignore protection scratch space, rebuilt from logs", "// virtform-review-ignore protection")
  .replace('fast.volume("scratch", { sizeGiB: 5 });', 'fast.volume("scratch", { sizeGiB: 6 });');

interface JsonReview {
  mode: string;
  changes: {
    address: string;
    action: string;
    fields: { path: string; source?: { range: { file: string; line: number }; origin: string } }[];
    source?: { call: { file: string; line: number; revision?: string }; callers: { line: number }[]; loops: { line: number }[] };
    findings: { rule: string; severity: string; message: string; at?: { line: number }; ignored?: { reason: string } }[];
  }[];
}

let dir: string;
let json: JsonReview;
const change = (address: string) => json.changes.find((c) => c.address === address)!;

beforeAll(async () => {
  dir = makeWorkdir("virtform-review-");
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  git("init", "-q");
  git("-c", "user.email=r@example.com", "-c", "user.name=r", "commit", "-q", "--allow-empty", "-m", "root");
  writeProgram(dir, base);
  git("add", "infra.ts");
  git("-c", "user.email=r@example.com", "-c", "user.name=r", "commit", "-q", "-m", "base");
  writeProgram(dir, head);
  const result = await runCli(dir, ["review", "--base", "HEAD", "--format", "json", "--fail-on-error"]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(1); // data loss is an error finding
  json = JSON.parse(result.stdout) as JsonReview;
}, 30_000);

describe("review --base", () => {
  it("maps a volume declared in a helper, called in a loop, to the helper's call, its caller and the loop", () => {
    const logs = change("volume.logs");
    expect(logs.action).toBe("replace");
    expect(logs.source).toMatchObject({ call: { file: "infra.ts", line: 4 }, callers: [{ line: 14 }], loops: [{ line: 13 }] });
    // the pool comes from the handle passed to the helper at its call site
    expect(logs.fields).toMatchObject([{ path: "pool", source: { range: { file: "infra.ts", line: 4 }, origin: "handle" } }]);
    expect(logs.findings.map((f) => [f.rule, f.severity])).toEqual([["data-loss", "error"], ["protection", "error"]]);
  });

  it("shows a member the scale-down deletes at its line in the base revision", () => {
    const gone = change("instances.web/app[2]");
    expect(gone.action).toBe("delete");
    expect(gone.source?.call).toMatchObject({ file: "infra.ts", line: 12, revision: "HEAD" });
    expect(gone.findings.map((f) => f.rule)).toEqual(["data-loss", "downtime"]);
  });

  it("flags the unpinned package at the property that adds it", () => {
    const image = change("image.app");
    expect(image.findings.filter((f) => f.rule === "supply-chain").map((f) => [f.message, f.at?.line])).toContainEqual([
      "image.app packages: curl without a version constraint",
      10,
    ]);
  });

  it("keeps a finding whose ignore comment gives no reason, and says so", () => {
    const scratch = change("volume.scratch");
    expect(scratch.findings.map((f) => [f.rule, f.severity, f.ignored?.reason])).toEqual([
      ["protection", "warning", undefined],
      ["review-ignore", "error", undefined],
    ]);
  });

  it("writes SARIF 2.1.0 with rules, locations and suppressions, and Markdown and GitHub annotations", async () => {
    // the ignore comment now gives a reason: the finding is reported as suppressed
    writeProgram(dir, head.replace("// virtform-review-ignore protection", "// virtform-review-ignore protection scratch space, rebuilt from logs"));
    writeFileSync(join(dir, "virtform-review.json"), JSON.stringify({ rules: { downtime: false } }));
    const sarifRun = await runCli(dir, ["review", "--base", "HEAD", "--format", "sarif", "--out", "review.sarif"]);
    expect(sarifRun.code).toBe(0);
    const sarif = JSON.parse(readFileSync(join(dir, "review.sarif"), "utf8"));
    expect(sarif.version).toBe("2.1.0");
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toContain("data-loss");
    for (const result of run.results) {
      expect(["error", "warning", "note"]).toContain(result.level);
      expect(result.message.text).toEqual(expect.any(String));
      expect(result.ruleId).not.toBe("downtime"); // turned off in the config file
      for (const location of result.locations) {
        const region = location.physicalLocation?.region;
        if (region) expect(region.startLine).toBeGreaterThanOrEqual(1);
      }
    }
    const suppressed = run.results.filter((r: { suppressions?: unknown[] }) => r.suppressions);
    expect(suppressed).toMatchObject([{ ruleId: "protection", suppressions: [{ kind: "inSource", justification: "scratch space, rebuilt from logs" }] }]);

    // typed checks on request: the loop over a constant list stays silent, a computed bound does not
    writeFileSync(join(dir, "virtform-review.json"), JSON.stringify({ rules: { downtime: false }, typedChecks: true }));
    writeProgram(dir, head.replace("  return {};", "  for (const name of process.argv.slice(99)) fast.volume(name, { sizeGiB: 1 });\n  return {};"));
    const github = await runCli(dir, ["review", "--base", "HEAD", "--format", "github"]);
    expect(github.stdout).toContain("::error file=infra.ts,line=4,col=");
    expect(github.stdout).toMatch(/^::warning file=infra\.ts,line=18,col=3,.*title=virtform typed\/loop-bound::a resource is declared in a loop whose bound is not a constant \(process\.argv\.slice\(99\)\)/m);
    expect(github.stdout).toMatch(/^::notice title=virtform%3A delete instances\.web\/app\[2\]::/m);
  }, 30_000);
});

describe("review --base before the program existed", () => {
  it("plans every resource as a create", async () => {
    const result = await runInProcess(dir, ["review", "--base", "HEAD~1", "--format", "json"]);
    expect(result.code).toBe(0);
    const review = JSON.parse(result.stdout) as JsonReview;
    expect(new Set(review.changes.map((c) => c.action))).toEqual(new Set(["create"]));
    expect(review.changes.map((c) => c.address)).toContain("volume.logs");
  }, 30_000);
});

describe("review against state", () => {
  it("plans against applied state: the bytes a replaced volume holds, the rehearsal's capacity", async () => {
    const work = makeWorkdir("virtform-review-state-");
    writeProgram(work, base.replace("{ protect: true }", "{}"));
    expect((await runInProcess(work, ["apply", "--yes"])).code).toBe(0);
    // 3 MiB written into volume.logs, as a VM would through its attachment
    const state = JSON.parse(readFileSync(join(work, ".virtform/state/shop.json"), "utf8")) as { resources: Record<string, { id: string }> };
    const emulator = Emulator.open(join(work, ".virtform/emulator"));
    const device = await emulator.dataPlane!.volumeDevice(state.resources["volume.logs"]!.id);
    await device.write(0, Buffer.alloc(3 * 1024 * 1024, 7));
    await emulator.close();

    writeProgram(work, base.replace("{ protect: true }", "{}").replace("count: 3", "count: 30").replace("dataVolume(fast, name);", "dataVolume(slow, name);"));
    const result = await runCli(work, ["review", "--format", "markdown"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("planned against current state");
    expect(result.stdout).toMatch(/\| \+ \| `instances\.web\/app\[29\]` \| create \| `infra\.ts:12:/);
    expect(result.stdout).toContain("- **error** data-loss: volume.logs is replaced (pool forces replacement): the new volume starts empty and the data of the old one (3 MiB written of 10 GiB) is deleted");
    expect(result.stdout).toMatch(/capacity: the plan cannot be applied|capacity: cluster\.web/);
  }, 30_000);
});
