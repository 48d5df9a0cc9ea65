// What apply shows while it works. On a terminal: finished steps scroll by, and a live block below
// lists each step in flight with its elapsed time and a total. Elsewhere (CI, pipes): one plain line
// per finished step.
import { styleText } from "node:util";
import { CANCELLED, type Step, type StepResult } from "../engine/apply.ts";

const VERB = { create: "created", update: "updated", delete: "deleted" } as const;

export class ApplyProgress {
  private readonly stream: NodeJS.WriteStream;
  private readonly idOf: (address: string) => string | undefined;
  private readonly inFlight = new Map<string, { step: Step; since: number }>();
  private readonly startedAt = performance.now();
  private done = 0;
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly live: boolean;

  constructor(stream: NodeJS.WriteStream, idOf: (address: string) => string | undefined) {
    this.stream = stream;
    this.idOf = idOf;
    this.live = stream.isTTY === true && !process.env.CI;
    if (this.live) this.timer = setInterval(() => this.redraw(), 250);
  }

  started(step: Step): void {
    this.inFlight.set(step.id, { step, since: performance.now() });
    if (this.live) this.redraw();
  }

  ended(result: StepResult): void {
    this.inFlight.delete(result.step.id);
    this.done++;
    // Steps an interrupt kept from starting are counted in the summary, not listed one by one.
    if (result.status === "skipped" && result.error === CANCELLED) return;
    this.clear();
    this.stream.write(this.line(result) + "\n");
    if (this.live) this.redraw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  private line(result: StepResult): string {
    const { step } = result;
    const address = step.change.address + (step.deposed ? " (old)" : "");
    const seconds = `${(result.elapsedMs / 1000).toFixed(1)}s`;
    if (result.status !== "done") {
      const text = `  ! ${address}: ${step.operation} ${result.status}: ${result.error}`;
      return this.live ? styleText("red", text) : text;
    }
    const id = step.operation === "delete" ? "" : ` [id=${this.idOf(step.change.address) ?? "?"}]`;
    return `  ${address}: ${VERB[step.operation]}${id} (${seconds})`;
  }

  private clear(): void {
    if (!this.live || this.drawnLines === 0) return;
    this.stream.write(`\x1b[${this.drawnLines}A\x1b[J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    this.clear();
    const now = performance.now();
    const lines = [...this.inFlight.values()].map(
      ({ step, since }) => styleText("gray", `  … ${step.change.address}: ${step.operation === "delete" ? "deleting" : step.operation === "create" ? "creating" : "updating"} (${((now - since) / 1000).toFixed(1)}s)`),
    );
    lines.push(styleText("bold", `  ${this.done} done, ${this.inFlight.size} in progress, ${((now - this.startedAt) / 1000).toFixed(1)}s elapsed`));
    this.stream.write(lines.join("\n") + "\n");
    this.drawnLines = lines.length;
  }
}
