// `virtform state recover`: state lost (deleted, or restored from an older snapshot) while the
// backend still holds the stack's objects. Each object carries its stack, lineage and address as
// tags; recover adopts the ones state does not record, at their addresses, instead of letting the
// next apply create them all again beside the old ones.
import { existsSync } from "node:fs";
import { planAdoption } from "../../engine/adopt.ts";
import type { DesiredResource } from "../../core/model.ts";
import { recoverPending } from "../../engine/recover.ts";
import { readUnrecorded } from "../../engine/lost-objects.ts";
import { CliError } from "../cli-error.ts";
import { runProgram } from "../program-runner.ts";
import { Workspace } from "../workspace.ts";
import { parseDuration } from "../duration.ts";

export async function stateRecoverCommand(program: string, options: { stack?: string; lockTimeout?: string }): Promise<number> {
  const workspace = new Workspace();
  // The program names the stack (its state may be gone) and knows what the backend does not keep.
  const loaded = existsSync(program) ? await runProgram(program, { locks: false }) : undefined;
  const stack = options.stack ?? loaded?.name ?? workspace.stacks()[0];
  if (!stack) throw new CliError(`state recover needs the stack: pass the program (${program} not found) or --stack NAME`);
  const desired = loaded?.name === stack ? new Map<string, DesiredResource>(loaded.resources.map((r) => [r.address, r])) : undefined;
  const store = workspace.stateStore(stack); // checks the name before any file is touched
  const lock = await workspace.lock(stack, "state recover", parseDuration(options.lockTimeout));
  try {
    const state = await store.load();
    const provider = await workspace.provider(stack);
    if (!provider.listOwned) throw new CliError("this backend cannot list objects by their tags, so lost state cannot be recovered from it");
    await recoverPending(state, provider, store); // a create a killed run left pending is adopted by its token first
    const { owned, unrecorded } = await readUnrecorded(state, provider);
    const adoption = planAdoption(state, owned, unrecorded, desired);
    for (const record of adoption.records) await store.record(state, record);
    await store.commit(state);
    // Objects of another history of the stack now belong to this one: their tags say so.
    for (const o of adoption.adopted) {
      if (o.owner.lineage !== state.lineage) await provider.setOwner?.(o.kind, o.id, { ...o.owner, lineage: state.lineage });
    }

    const out = (text: string) => process.stdout.write(text);
    if (adoption.adopted.length === 0 && adoption.skipped.length === 0) {
      out(`Nothing to recover: state records every object the backend holds for stack ${stack}.\n`);
      return 0;
    }
    if (adoption.adopted.length > 0) {
      out(`Adopted ${adoption.adopted.length} object${adoption.adopted.length === 1 ? "" : "s"} of stack ${stack} into state:\n`);
      for (const o of adoption.adopted.slice(0, 20)) out(`  ${o.owner.address} = ${o.id}\n`);
      if (adoption.adopted.length > 20) out(`  ... and ${adoption.adopted.length - 20} more\n`);
    }
    if (adoption.lineage) out(`State takes the lineage of the adopted objects: ${adoption.lineage}.\n`);
    for (const { object, reason } of adoption.skipped) process.stderr.write(`warning: left ${object.kind} ${object.id} as it is: ${reason}\n`);
    out("Run virtform plan to see how the program compares with what was adopted.\n");
    return 0;
  } finally {
    lock.release();
  }
}
