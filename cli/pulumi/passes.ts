// A Pulumi program whose inputs are computed from other resources' outputs (apply, interpolate) is
// planned and applied in passes, as Terraform's deferred changes are. Each pass reruns the program:
// the resources virtform has applied and that this pass leaves unchanged ("settled") are answered
// with what state holds, the others with placeholders (placeholders.ts); a resource that computes an
// input from a placeholder is deferred (deferred.ts). A pass plans only the resources it knows
// (DesiredProgram.partial: nothing else is deleted or changed), apply carries it out, and the next
// pass starts under the same lock, until the program runs with no function left unrun. Deletions
// come only in that last pass, when the program's full set of resources is known.
import { relative } from "node:path";
import { UNKNOWN } from "../../core/model.ts";
import { applyRecord, forkState, type State } from "../../engine/state.ts";
import type { DesiredProgram } from "../../operations/context.ts";
import type { Planned } from "../../operations/plan.ts";
import type { Applied } from "../../operations/apply.ts";
import { CliError } from "../cli-error.ts";
import { deferredToJson, renderDeferredText } from "./deferred.ts";
import type { PulumiStack } from "./desired.ts";
import { readProject, type PulumiProject } from "./project.ts";
import { runPass, type LoadOptions } from "./run-program.ts";

export class PulumiPasses {
  stack: PulumiStack;
  /** Program functions the last run did not run (they read an output not known yet). */
  private skipped: number;
  private readonly project: PulumiProject;
  private readonly options: LoadOptions;
  private readonly settled = new Set<string>();

  private constructor(project: PulumiProject, options: LoadOptions, first: { stack: PulumiStack; skipped: number }) {
    this.project = project;
    this.options = options;
    this.stack = first.stack;
    this.skipped = first.skipped;
  }

  /** The first pass: the program run with a placeholder for every output of ours. */
  static async start(dir: string, options: LoadOptions): Promise<PulumiPasses> {
    const project = readProject(dir, options.stack);
    return new PulumiPasses(project, options, await runPass(project, options));
  }

  /** Whether the last run knew every input and output: its plan is the whole program's. */
  get complete(): boolean {
    return this.skipped === 0 && this.stack.deferred.length === 0 && this.stack.unknownOutputs.length === 0;
  }

  /** The current pass as the operations take it. */
  get program(): DesiredProgram {
    const outputs = { ...this.stack.outputs };
    for (const name of this.stack.unknownOutputs) outputs[name] = UNKNOWN;
    return {
      stack: this.stack.name,
      resources: this.stack.resources,
      outputs,
      secretOutputs: this.stack.secretOutputs ?? [],
      ...(this.complete ? {} : { partial: this.stack.resources.map((r) => r.address) }),
    };
  }

  /** What the current pass leaves for a later one (undefined for the last pass), for a saved plan. */
  get laterPasses(): { deferred: string[]; unknownOutputs: string[]; project: string } | undefined {
    if (this.complete) return undefined;
    const project = relative(process.cwd(), this.project.dir) || ".";
    return { deferred: this.stack.deferred.map((d) => d.address), unknownOutputs: [...this.stack.unknownOutputs], project };
  }

  /** What the current pass leaves for later, for `plan --json`. */
  deferredJson(): ReturnType<typeof deferredToJson> {
    return deferredToJson(this.stack.deferred, this.stack.unknownOutputs);
  }

  /** What the current pass leaves for later, for the plan's text. */
  deferredText(): string {
    return renderDeferredText(this.stack.deferred, this.stack.unknownOutputs, this.complete ? 0 : this.skipped);
  }

  /**
   * plan: the next pass after a pass was planned, run with what state holds for the resources this
   * plan leaves unchanged; undefined when nothing more becomes known that way (the plan shows what
   * is left deferred).
   */
  afterPlan = async (planned: Planned): Promise<DesiredProgram | undefined> => {
    if (this.complete) return undefined;
    const unchanged = planned.plan.changes.filter((c) => c.action === "noop" && c.reason !== "not-targeted").map((c) => c.address);
    if (!this.settle(unchanged)) return undefined;
    const state = forkState(planned.state);
    for (const record of planned.refreshRecords) applyRecord(state, record);
    return this.rerun(state);
  };

  /** apply: the next pass once a pass was carried out; undefined when it was the last. */
  afterApply = async (applied: Applied & { result: { state: State } }): Promise<DesiredProgram | undefined> => {
    if (this.complete) return undefined;
    const planned = applied.plan.changes.filter((c) => c.reason !== "not-targeted" && c.action !== "delete").map((c) => c.address);
    if (!this.settle(planned)) {
      // --target left out what the deferred resources read: they stay deferred, as asked.
      if (applied.plan.changes.some((c) => c.reason === "not-targeted")) return undefined;
      const waiting = this.stack.deferred.map((d) => d.address);
      throw new CliError(
        `the Pulumi program's ${waiting.length > 0 ? `resources ${waiting.join(", ")} stay` : "outputs stay"} unknown after every resource they read was applied; ` +
          "a program function (apply, interpolate) reads an output virtform cannot know: this is a bug in virtform's Pulumi host",
      );
    }
    return this.rerun(applied.result.state);
  };

  /** Adds addresses the program knows to the settled set; whether it grew. */
  private settle(addresses: string[]): boolean {
    const known = new Set(this.stack.resources.map((r) => r.address));
    const before = this.settled.size;
    for (const address of addresses) if (known.has(address)) this.settled.add(address);
    return this.settled.size > before;
  }

  private async rerun(state: State): Promise<DesiredProgram> {
    const next = await runPass(this.project, { ...this.options, quiet: true }, { state, settled: this.settled });
    this.stack = next.stack;
    this.skipped = next.skipped;
    return this.program;
  }
}
