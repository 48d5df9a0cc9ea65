// Runs the real `terraform` binary against this checkout's provider, as a user would: a CLI config with
// dev_overrides pointing at bin/ (no `terraform init`), in a working directory of its own.
import { execFile, execFileSync } from "node:child_process";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeWorkdir, repoRoot } from "../helpers/cli.ts";

export interface TerraformResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether terraform is on the PATH; under CI its absence is a failure, not a reason to skip. */
export function terraformAvailable(): boolean {
  try {
    execFileSync("terraform", ["version"], { stdio: "ignore", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
    return true;
  } catch {
    if (process.env.CI) throw new Error("terraform is not on the PATH: the Terraform suites need it under CI");
    return false;
  }
}

/** A working directory holding `main.tf` (or the files of `from`) and the CLI config. */
export function terraformWorkdir(mainTf?: string, from?: string): string {
  const dir = makeWorkdir("virtform-terraform-");
  if (from) cpSync(from, dir, { recursive: true, dereference: true }); // an example's virtform.lock is a link to the native example's
  if (mainTf !== undefined) writeFileSync(join(dir, "main.tf"), mainTf);
  writeFileSync(
    join(dir, ".terraformrc"),
    `provider_installation {\n  dev_overrides {\n    "registry.terraform.io/virtform/virtform" = "${join(repoRoot, "bin")}"\n  }\n  direct {}\n}\n`,
  );
  return dir;
}

export function terraform(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<TerraformResult> {
  return new Promise((resolve) => {
    execFile(
      "terraform",
      [...args, "-no-color"],
      {
        cwd: dir,
        env: { ...process.env, TF_CLI_CONFIG_FILE: join(dir, ".terraformrc"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

export const PROVIDER_BLOCK = `terraform {
  required_providers {
    virtform = { source = "virtform/virtform" }
  }
}
`;
