// terraform-provider-virtform: Terraform starts it (dev_overrides or an installed copy), reads the
// handshake line from stdout and drives it over gRPC until it calls Shutdown.
import { englishOnlyZod } from "./english-only-zod.ts";
import { servePlugin } from "./server.ts";

/** Objects Terraform creates carry owner tags; the stack is "terraform:<working directory>". */
export async function main(): Promise<void> {
  englishOnlyZod();
  const cwd = process.cwd();
  await servePlugin({ cwd, owner: { stack: `terraform:${cwd}`, lineage: "terraform" }, exit: () => process.exit(0) });
}
