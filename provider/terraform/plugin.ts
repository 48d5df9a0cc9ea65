// terraform-provider-virtform: Terraform starts it (dev_overrides or an installed copy), reads the
// handshake line from stdout and drives it over gRPC until it calls Shutdown.
import { loadZodLocalesLazily } from "../../core/zod-locales.ts";
import { servePlugin } from "./server.ts";

/** Objects Terraform creates carry owner tags; the stack is "terraform:<working directory>". */
export async function main(): Promise<void> {
  loadZodLocalesLazily();
  const cwd = process.cwd();
  const cleanups: (() => Promise<void>)[] = [];
  // What the service leaves on a served emulator (a plan's copy) goes first; a second at most.
  const exit = () => {
    const done = Promise.allSettled(cleanups.map((cleanup) => cleanup()));
    void Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1000))]).then(() => process.exit(0));
  };
  await servePlugin({ cwd, owner: { stack: `terraform:${cwd}`, lineage: "terraform" }, exit, beforeExit: (cleanup) => cleanups.push(cleanup) });
}
