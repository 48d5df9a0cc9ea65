// The `virtform` command. Each command returns its exit code; errors a user can act on are printed
// without a stack trace.
import { Command, CommanderError } from "commander";
import { DiagnosticsError, formatDiagnostic } from "../engine/model.ts";
import { CliError } from "./cli-error.ts";
import { emulatorInspectCommand } from "./commands/emulator.ts";
import { emulatorServeCommand, type EmulatorServeOptions } from "./commands/emulator-serve.ts";
import { applyCommand, planCommand } from "./commands/plan-apply.ts";
import { outputCommand, stateListCommand, stateShowCommand } from "./commands/state.ts";
import { setEndpoint } from "./workspace.ts";

const DEFAULT_PROGRAM = "infra.ts";

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await action(...args);
    };

  const cli = new Command("virtform")
    .description("Infrastructure as code for virtualized compute: plan and apply VM clusters, image variants and storage")
    .exitOverride()
    .showHelpAfterError()
    .option("--endpoint <url>", "a served emulator (virtform emulator serve) instead of the embedded one; default $VIRTFORM_ENDPOINT, token from $VIRTFORM_TOKEN")
    .hook("preAction", (command) => setEndpoint(command.opts<{ endpoint?: string }>().endpoint));

  cli
    .command("plan")
    .description("Show what apply would change")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("--json", "print the plan as JSON")
    .option("--detailed-exitcode", "exit 2 when there are changes, 0 when there are none")
    .action(run((program: string, options: { json?: boolean; detailedExitcode?: boolean }) => planCommand(program, options)));

  cli
    .command("apply")
    .description("Plan and carry out the changes")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("-y, --yes", "do not ask for confirmation")
    .option("--parallelism <n>", "how many changes may run at once", "10")
    .action(run((program: string, options: { yes?: boolean; parallelism?: string }) => applyCommand(program, options)));

  cli
    .command("destroy")
    .description("Delete everything the stack created")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("-y, --yes", "do not ask for confirmation")
    .option("--stack <name>", "destroy this stack from its state alone")
    .option("--parallelism <n>", "how many changes may run at once", "10")
    .action(
      run((program: string, options: { yes?: boolean; stack?: string; parallelism?: string }) =>
        applyCommand(program, { ...options, destroy: true }),
      ),
    );

  const state = cli.command("state").description("Read the recorded state");
  state
    .command("list")
    .description("List the resources in state")
    .option("--stack <name>", "the stack (default: the only one)")
    .action(run((options: { stack?: string }) => stateListCommand(options)));
  state
    .command("show")
    .description("Show one resource in state")
    .argument("<address>", 'e.g. "instances.web/app[2]"')
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--json", "print JSON")
    .action(run((address: string, options: { stack?: string; json?: boolean }) => stateShowCommand(address, options)));

  cli
    .command("output")
    .description("Print the stack's outputs")
    .argument("[name]", "one output")
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--json", "print JSON")
    .action(run((name: string | undefined, options: { stack?: string; json?: boolean }) => outputCommand(name, options)));

  const emulator = cli.command("emulator").description("The embedded emulator");
  emulator
    .command("inspect")
    .description("Show every object the embedded emulator holds")
    .option("--json", "print JSON")
    .action(run((options: { json?: boolean }) => emulatorInspectCommand(options)));
  emulator
    .command("serve")
    .description("Serve the emulator's HTTP API (binds 127.0.0.1 unless --host says otherwise)")
    .option("--port <port>", "TCP port; 0 picks a free one", "8420")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--data-dir <dir>", "where the emulator keeps its data (default ./.virtform/emulator)")
    .option("--token <token>", "the bearer token clients must send (default $VIRTFORM_TOKEN, else a random one, printed)")
    .action(run((options: EmulatorServeOptions) => emulatorServeCommand(options)));

  try {
    await cli.parseAsync(argv);
    return exitCode;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version exit 0; usage errors were already printed by commander
    return err.exitCode === 0 ? 0 : 1;
  }
  if (err instanceof DiagnosticsError) {
    process.stderr.write(`Error: ${err.message}\n`);
    for (const d of err.diagnostics) process.stderr.write(`  ${formatDiagnostic(d)}\n`);
    return 1;
  }
  if (err instanceof Error && err.name === "HttpBackendError") {
    // a served emulator refused or could not be reached: its message says why
    process.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof CliError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`Error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
