// Runs the `virtform` command inside the test process, in a working directory of its own: what the
// binary does, without starting a process per call. Output is captured, not printed.
import { main } from "../../cli/main.ts";

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` is set for the run (undefined unsets a variable) and restored after it. */
export async function runInProcess(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<InProcessResult> {
  const before = process.cwd();
  const envBefore = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  setEnv(env);
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  let stdout = "";
  let stderr = "";
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.chdir(cwd);
  try {
    const code = await main(["node", "virtform", ...args]);
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
    setEnv(envBefore);
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

function setEnv(env: NodeJS.ProcessEnv): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}
