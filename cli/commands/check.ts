// `virtform check [program]`: TypeScript's diagnostics (with virtform's compiler options) and
// virtform's own validation, in one list with file:line:column. Exit 1 when any is an error.
import { DiagnosticsError, type Diagnostic } from "../../core/model.ts";
import { programProject, typeCheck, type TypeDiagnostic } from "../../review/typecheck.ts";
import { typedChecks } from "../../review/typed-checks.ts";
import { CliError } from "../cli-error.ts";
import { runProgram } from "../program-runner.ts";

export async function checkCommand(program: string, options: { json?: boolean }): Promise<number> {
  const project = programProject(program);
  const typeDiagnostics = [...typeCheck(program, process.cwd(), project), ...typedChecks(project)];
  const warnings: Diagnostic[] = [];
  let validation: Diagnostic[] = [];
  try {
    const evaluated = await runProgram(program, { warnings });
    validation = evaluated.diagnostics;
  } catch (err) {
    if (err instanceof DiagnosticsError) validation = err.diagnostics;
    else if (err instanceof CliError) validation = [{ severity: "error", message: err.message }];
    else throw err;
  }
  const all = [...typeDiagnostics.map(fromTypeScript), ...[...validation, ...warnings].map(fromVirtform)];
  if (options.json) process.stdout.write(JSON.stringify({ diagnostics: all }, null, 2) + "\n");
  else {
    for (const d of all) process.stdout.write(`${d.where ? `${d.where}: ` : ""}${d.severity} ${d.code}: ${d.message}\n`);
    const errors = all.filter((d) => d.severity === "error").length;
    process.stdout.write(errors === 0 ? `${program}: no errors${all.length ? ` (${all.length} warning${all.length === 1 ? "" : "s"})` : ""}\n` : `${program}: ${errors} error${errors === 1 ? "" : "s"}\n`);
  }
  return all.some((d) => d.severity === "error") ? 1 : 0;
}

interface CheckDiagnostic {
  where?: string;
  severity: "error" | "warning";
  /** TS2322 for TypeScript's, "virtform" for the program's validation. */
  code: string;
  message: string;
  address?: string;
  path?: string;
}

function fromTypeScript(d: TypeDiagnostic): CheckDiagnostic {
  return { ...(d.file ? { where: [d.file, d.line, d.column].filter((p) => p !== undefined).join(":") } : {}), severity: d.severity, code: d.code, message: d.message };
}

function fromVirtform(d: Diagnostic): CheckDiagnostic {
  const where = d.source ? `${d.source.file}:${d.source.line}${d.source.column ? `:${d.source.column}` : ""}` : undefined;
  const subject = [d.address, d.path].filter((p) => p).join(": ");
  return {
    ...(where ? { where } : {}),
    severity: d.severity,
    code: "virtform",
    message: subject ? `${subject}: ${d.message}` : d.message,
    ...(d.address ? { address: d.address } : {}),
    ...(d.path ? { path: d.path } : {}),
  };
}
