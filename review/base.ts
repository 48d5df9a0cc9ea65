// `review --base REF`: the program as it was at a git ref, and a state made from its desired
// resources, so the engine's own planner compares the two programs. No backend, no credentials: a
// review of a pull request runs in CI.
import { VirtformError } from "../core/virtform-error.ts";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { DesiredResource, Reference, Value } from "../core/model.ts";
import { emptyState, type State } from "../engine/state.ts";
import { resolveReferences } from "../core/values.ts";
import type { EvaluatedStack } from "../sdk/evaluate.ts";

/** The base a review compares against cannot be read (not a git repository, an unknown ref). */
export class BaseError extends VirtformError<"base-unreadable"> {
  readonly layer = "review";

  constructor(message: string) {
    super("base-unreadable", message);
  }
}

/** The repository's files at `ref`, extracted into a temporary folder; `program` is the program's path there. */
export function checkoutBase(programPath: string, ref: string): { dir: string; program: string; dispose: () => void } {
  const programDir = dirname(resolve(programPath));
  const git = (args: string[], cwd = programDir) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let top: string;
  try {
    top = git(["rev-parse", "--show-toplevel"]);
  } catch {
    throw new BaseError(`--base needs the program in a git repository; ${programDir} is not in one`);
  }
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new BaseError(`--base ${ref}: no such commit in ${top}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "virtform-base-"));
  const archive = join(dir, ".base.tar");
  git(["archive", "--format=tar", "-o", archive, ref], top);
  execFileSync("tar", ["-xf", archive, "-C", dir]);
  rmSync(archive);
  return { dir, program: join(dir, relative(top, resolve(programPath))), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The id a resource of the base program stands in with: its address (ids only need to be stable). */
const idOf = (address: string) => address;

/** What a reference resolves to in the base state: ids are known, other outputs are not recorded. */
function baseValue(ref: Reference): Value {
  return ref.path === "id" ? idOf(ref.$ref) : null;
}

/**
 * A state holding the base program's resources as if they had been applied. Protection is left
 * out (and out of the head program's options, see withoutProtect): the review reports a protected
 * resource the change would delete as a finding instead of refusing to plan.
 */
export function stateFromProgram(base: EvaluatedStack): State {
  const state = emptyState(base.name);
  for (const r of base.resources) {
    state.resources[r.address] = {
      kind: r.kind,
      id: idOf(r.address),
      inputs: resolveReferences(r.inputs, baseValue) as Record<string, Value>,
      outputs: {},
      dependsOn: r.dependsOn,
      ...(r.source ? { source: r.source } : {}),
      ...(r.secretPaths ? { secretPaths: r.secretPaths } : {}),
    };
  }
  state.outputs = resolveReferences(base.outputs, baseValue) as Record<string, Value>;
  state.secretOutputs = base.secretOutputs;
  return state;
}

export function withoutProtect(resources: readonly DesiredResource[]): DesiredResource[] {
  return resources.map((r) => {
    const { protect: _protect, ...options } = r.options;
    return { ...r, options };
  });
}
