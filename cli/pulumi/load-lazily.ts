// The Pulumi host (its gRPC server, the SDK's stubs) is loaded only by a command that runs a Pulumi
// program: every other command starts without it (about 50 ms each).
import type { loadPulumiProgram } from "./run-program.ts";
import type { PulumiPasses } from "./passes.ts";

export async function loadPulumi(...args: Parameters<typeof loadPulumiProgram>): ReturnType<typeof loadPulumiProgram> {
  const { loadPulumiProgram: load } = await import("./run-program.ts");
  return load(...args);
}

/** The program's first pass, and the passes after it (plan and apply). */
export async function startPulumiPasses(...args: Parameters<typeof PulumiPasses.start>): Promise<PulumiPasses> {
  const { PulumiPasses: passes } = await import("./passes.ts");
  return passes.start(...args);
}
