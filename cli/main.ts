// The `virtform` command. Each command returns its exit code; errors a user can act on are printed
// without a stack trace.
import { Command, CommanderError } from "commander";
import { quietOnClosedPipe } from "./closed-pipe.ts";
import { reportError } from "./report-error.ts";
import type { EmulatorServeOptions } from "./commands/emulator-serve.ts";
import type { ApplyCommandOptions, PlanCommandOptions } from "./commands/plan-apply.ts";
import { parseDuration } from "./duration.ts";
import { setProgramTimeout } from "./program-runner.ts";
import type { ReviewCommandOptions } from "./commands/review.ts";
import { closeBackends, setBackend, setEndpoint } from "./workspace.ts";
import packageJson from "../package.json" with { type: "json" };

const DEFAULT_PROGRAM = "infra.ts";

// A command's module is loaded when the command runs: each command starts without the others' code.
const planApply = () => import("./commands/plan-apply.ts");
const stateEdit = () => import("./commands/state-edit.ts");
const stateRead = () => import("./commands/state.ts");
const imageCommands = () => import("./commands/images.ts");

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  // Added once however often main runs (tests run it in process, and Node warns past ten listeners).
  process.off("uncaughtException", onUncaught).off("unhandledRejection", onUncaught);
  process.on("uncaughtException", onUncaught).on("unhandledRejection", onUncaught);
  let exitCode = 0;
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await action(...args);
    };

  const cli = new Command("virtform")
    .description("Infrastructure as code for virtualized compute: plan and apply VM clusters, image variants and storage")
    .version(packageJson.version, "-v, --version", "print virtform's version")
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true }) // --endpoint and --program-timeout apply to every command
    .option("--endpoint <url>", "a served emulator (virtform emulator serve) instead of the embedded one; default $VIRTFORM_ENDPOINT, token from $VIRTFORM_TOKEN")
    .option("--program-timeout <duration>", "stop a program that has not finished evaluating after this long (0: no limit)", "60s")
    .option("--backend <name>", "where objects live: emulator (default) or libvirt; default $VIRTFORM_BACKEND, else the stack's virtform.<stack>.json")
    .hook("preAction", (command) => setEndpoint(command.opts<{ endpoint?: string }>().endpoint))
    .hook("preAction", (command) => setBackend(command.opts<{ backend?: string }>().backend))
    .hook("preAction", (command) => setProgramTimeout(parseDuration(command.opts<{ programTimeout?: string }>().programTimeout)));

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  /** Options every planning command shares. */
  const planning = (command: Command) =>
    command
      .option("--no-refresh", "do not read the backend first; trust state as it is")
      .option("--refresh-only", "only bring state up to date with the backend; change nothing")
      .option("--target <address>", "plan only this resource (repeatable) and what it depends on", collect)
      .option("--replace <address>", "replace this resource even if unchanged (repeatable)", collect)
      .option("--lock-timeout <duration>", "wait this long for the state lock (e.g. 30s)", "0s")
      .option("--allow-duplicates", "create resources even where the backend holds objects of the stack that state lost (see state recover)")
      .option("--pulumi [dir]", "run a Pulumi program: the project in dir (default: the program argument, else .) holding Pulumi.yaml");
  /** How plan and apply resolve image variants that virtform.lock does not answer. */
  const unlockedImages = (command: Command) =>
    command
      .option("--packages <files...>", "Debian Packages files to resolve image variants the lock does not answer against (default: the lock's catalog, else the system apt lists)")
      .option("--allow-unlocked", "when no package catalog is reachable, plan unlocked image variants by their requested packages alone instead of refusing");

  unlockedImages(planning(
    cli
      .command("plan")
      .alias("preview")
      .description("Show what apply would change")
      .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
      .option("--json", "print the plan as JSON")
      .option("--markdown", "print the plan as Markdown, for a pull-request comment")
      .option("--out <file>", "save the plan; `virtform apply FILE` applies exactly it")
      .option("--detailed-exitcode", "exit 2 when there are changes, 0 when there are none")
      .option("--stack <name>", "the Pulumi stack (with --pulumi; default: the only Pulumi.<stack>.yaml, else dev)"),
  )).action(run(async (program: string, options: PlanCommandOptions) => (await planApply()).planCommand(program, options)));

  unlockedImages(planning(
    cli
      .command("apply")
      .description("Plan and carry out the changes (or apply a plan saved with plan --out)")
      .argument("[program]", "the program declaring the stack, or a saved plan", DEFAULT_PROGRAM)
      .option("-y, --yes", "do not ask for confirmation")
      .option("--parallelism <n>", "how many changes may run at once", "10")
      .option("--kind-parallelism <kind=n>", "at most n changes of a kind at once, e.g. Instance=4 (repeatable)", collect)
      .option("--build-images", "first build the locked image variants the layer cache lacks (as virtform images build; root, mmdebstrap)")
      .option("--require-images", "refuse to apply while a locked image variant is not built")
      .option("--stack <name>", "the Pulumi stack (with --pulumi; default: the only Pulumi.<stack>.yaml, else dev)"),
  )).action(run(async (program: string, options: ApplyCommandOptions) => (await planApply()).applyCommand(program, options)));

  planning(
    cli
      .command("destroy")
      .description("Delete everything the stack created")
      .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
      .option("-y, --yes", "do not ask for confirmation")
      .option("--stack <name>", "destroy this stack from its state alone")
      .option("--parallelism <n>", "how many changes may run at once", "10"),
  ).action(run(async (program: string, options: ApplyCommandOptions) => (await planApply()).applyCommand(program, { ...options, destroy: true })));

  cli
    .command("refresh")
    .description("Update state from the backend (apply --refresh-only --yes)")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("--lock-timeout <duration>", "wait this long for the state lock (e.g. 30s)", "0s")
    .option("--pulumi [dir]", "run a Pulumi program: the project in dir (default: the program argument, else .) holding Pulumi.yaml")
    .option("--stack <name>", "the Pulumi stack (with --pulumi)")
    .action(run(async (program: string, options: ApplyCommandOptions) => (await planApply()).applyCommand(program, { ...options, refreshOnly: true, yes: true })));

  cli
    .command("import")
    .description("Bring existing backend objects under management: ADDRESS ID, or --from FILE")
    .argument("[address]", 'e.g. "volume.legacy-data"')
    .argument("[id]", "the backend's id of the object")
    .option("--from <file>", 'many at once: one "ADDRESS ID" per line')
    .option("--program <file>", "the program declaring each address", DEFAULT_PROGRAM)
    .option("--stack <name>", "the stack (default: the program's)")
    .option("--lock-timeout <duration>", "wait this long for the state lock", "0s")
    .action(
      run(async (address: string | undefined, id: string | undefined, options: { stack?: string; from?: string; program?: string; lockTimeout?: string }) =>
        (await stateEdit()).importCommand(address, id, options),
      ),
    );

  cli
    .command("force-unlock")
    .description("Remove a state lock left behind, by its id")
    .argument("<id>", "the lock id printed by the command that found the lock")
    .option("--stack <name>", "the stack (default: the only one)")
    .action(run(async (id: string, options: { stack?: string }) => (await stateEdit()).forceUnlockCommand(id, options)));

  cli
    .command("graph")
    .description("Print the program's dependency graph")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("--format <format>", "dot or mermaid", "dot")
    .option("--pulumi [dir]", "a Pulumi program: the project in dir (default: the program argument, else .); components are drawn as boxes")
    .option("--stack <name>", "the Pulumi stack (with --pulumi)")
    .action(run(async (program: string, options: { format?: string; pulumi?: string | boolean; stack?: string }) => (await import("./commands/graph.ts")).graphCommand(program, options)));

  planning(
    cli
      .command("review")
      .description("The plan mapped to the source lines that cause each change, with risk findings, for a pull request")
      .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
      .option("--base <ref>", "compare with the program at this git ref instead of planning against state (no backend needed)")
      .option("--format <format>", "markdown, json, github (workflow annotations) or sarif", "markdown")
      .option("--out <file>", "write the review to this file")
      .option("--config <file>", "rules config (default virtform-review.json beside the program)")
      .option("--fail-on-error", "exit 1 when a finding of severity error is not ignored"),
  ).action(run(async (program: string, options: ReviewCommandOptions) => (await import("./commands/review.ts")).reviewCommand(program, options)));

  cli
    .command("check")
    .description("Type-check the program (virtform supplies the compiler options) and validate it: one list with file:line:column")
    .argument("[program]", "the program declaring the stack", DEFAULT_PROGRAM)
    .option("--json", "print JSON")
    .action(run(async (program: string, options: { json?: boolean }) => (await import("./commands/check.ts")).checkCommand(program, options)));

  cli
    .command("init")
    .description("Write a new project: infra.ts, tsconfig.json, package.json, .gitignore")
    .argument("[dir]", "the project's folder", ".")
    .action(run(async (dir: string) => (await import("./commands/init.ts")).initCommand(dir)));

  const state = cli.command("state").description("Read the recorded state");
  state
    .command("list")
    .description("List the resources in state")
    .option("--stack <name>", "the stack (default: the only one)")
    .action(run(async (options: { stack?: string }) => (await stateRead()).stateListCommand(options)));
  state
    .command("rm")
    .description("Forget resources (the objects stay in the backend)")
    .argument("<addresses...>")
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--lock-timeout <duration>", "wait this long for the state lock", "0s")
    .action(run(async (addresses: string[], options: { stack?: string; lockTimeout?: string }) => (await stateEdit()).stateRmCommand(addresses, options)));
  state
    .command("mv")
    .description("Rename a resource in state, e.g. after renaming it in the program")
    .argument("<from>")
    .argument("<to>")
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--lock-timeout <duration>", "wait this long for the state lock", "0s")
    .action(run(async (from: string, to: string, options: { stack?: string; lockTimeout?: string }) => (await stateEdit()).stateMvCommand(from, to, options)));
  state
    .command("recover")
    .description("Adopt into state the objects the backend holds for the stack (by their tags) that state lost")
    .argument("[program]", "the program declaring the stack: names it and supplies dependencies", DEFAULT_PROGRAM)
    .option("--stack <name>", "the stack (default: the program's)")
    .option("--lock-timeout <duration>", "wait this long for the state lock", "0s")
    .action(run(async (program: string, options: { stack?: string; lockTimeout?: string }) => (await import("./commands/state-recover.ts")).stateRecoverCommand(program, options)));
  state
    .command("show")
    .description("Show one resource in state")
    .argument("<address>", 'e.g. "instances.web/app[2]"')
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--json", "print JSON")
    .action(run(async (address: string, options: { stack?: string; json?: boolean }) => (await stateRead()).stateShowCommand(address, options)));

  cli
    .command("output")
    .description("Print the stack's outputs")
    .argument("[name]", "one output")
    .option("--stack <name>", "the stack (default: the only one)")
    .option("--json", "print JSON")
    .option("--show-secrets", "print outputs that hold secrets in the list and JSON too (one output named is always printed)")
    .action(run(async (name: string | undefined, options: { stack?: string; json?: boolean; showSecrets?: boolean }) => (await stateRead()).outputCommand(name, options)));

  const images = cli.command("images").description("Image variants: resolve against a package catalog, lock, diff, why, build, boot-test");
  const packagesOption = ["--packages <files...>", "Debian Packages files to resolve against (default: the system apt lists)"] as const;
  images
    .command("resolve")
    .description("Resolve every variant's package closure; sizes, layers and bytes shared between variants")
    .argument("[program]", "the program declaring the images", DEFAULT_PROGRAM)
    .option("--variant <name>", 'one variant ("heavy" or "image.appserver:heavy"), with its full package list')
    .option(...packagesOption)
    .option("--json", "print JSON")
    .action(run(async (program: string, options: { variant?: string; packages?: string[]; json?: boolean }) => (await imageCommands()).imagesResolveCommand(program, options)));
  images
    .command("lock")
    .description("Resolve the variants and write virtform.lock beside the program (entries that still match are kept)")
    .argument("[program]", "the program declaring the images", DEFAULT_PROGRAM)
    .option(...packagesOption)
    .option("--update", "re-resolve every variant, taking the catalog's newest versions")
    .action(run(async (program: string, options: { packages?: string[]; update?: boolean }) => (await imageCommands()).imagesLockCommand(program, options)));
  images
    .command("diff")
    .description("Package-level difference between two variants (image.appserver:light image.appserver:heavy) or two lock files")
    .argument("<a>", 'a variant ("light", "appserver:light" or "image.appserver:light") or a lock file')
    .argument("<b>", "a variant or a lock file")
    .option("--program <file>", "the program declaring the images", DEFAULT_PROGRAM)
    .option(...packagesOption)
    .option("--json", "print JSON")
    .action(run(async (a: string, b: string, options: { program?: string; packages?: string[]; json?: boolean }) => (await imageCommands()).imagesDiffCommand(a, b, options)));
  images
    .command("why")
    .description("The dependency chain that brought a package into each variant")
    .argument("<package>", "a package name")
    .argument("[program]", "the program declaring the images", DEFAULT_PROGRAM)
    .option("--variant <name>", 'one variant ("heavy" or "image.appserver:heavy")')
    .option(...packagesOption)
    .option("--json", "print JSON")
    .action(
      run(async (pkg: string, program: string, options: { variant?: string; packages?: string[]; json?: boolean }) => (await imageCommands()).imagesWhyCommand(pkg, program, options)),
    );

  images
    .command("build")
    .description("Build each locked variant as a layered qcow2 image (base, common, variant) in the layer cache; needs root and mmdebstrap")
    .argument("[program]", "the program declaring the images", DEFAULT_PROGRAM)
    .option("--variant <name>", 'one variant ("heavy" or "image.appserver:heavy")')
    .option("--out <dir>", "write a link to each variant's image and build.json here")
    .option("--cache <dir>", "the layer cache (default: ~/.cache/virtform/images)")
    .option("--json", "print JSON")
    .action(run(async (program: string, options: { variant?: string; out?: string; cache?: string; json?: boolean }) => (await import("./commands/images-build.ts")).imagesBuildCommand(program, options)));
  images
    .command("boot-test")
    .description("Boot a built variant under QEMU (TCG) and wait for its marker on the serial console")
    .argument("<variant>", '"heavy" or "image.appserver:heavy"')
    .argument("[program]", "the program declaring the images", DEFAULT_PROGRAM)
    .option("--cache <dir>", "the layer cache (default: ~/.cache/virtform/images)")
    .option("--timeout <seconds>", "give up after this long", "300")
    .action(run(async (variant: string, program: string, options: { cache?: string; timeout?: string }) => (await import("./commands/images-build.ts")).imagesBootTestCommand(variant, program, options)));

  const emulator = cli.command("emulator").description("The embedded emulator");
  emulator
    .command("inspect")
    .description("Show every object the embedded emulator holds")
    .option("--json", "print JSON")
    .option("--show-secrets", "show secret values instead of (sensitive)")
    .action(run(async (options: { json?: boolean; showSecrets?: boolean }) => (await import("./commands/emulator.ts")).emulatorInspectCommand(options)));
  emulator
    .command("serve")
    .description("Serve the emulator's HTTP API (binds 127.0.0.1 unless --host says otherwise)")
    .option("--port <port>", "TCP port; 0 picks a free one", "8420")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--data-dir <dir>", "where the emulator keeps its data (default ./.virtform/emulator)")
    .option("--token <token>", "the bearer token clients must send (default $VIRTFORM_TOKEN, else a random one, printed)")
    .option("--nbd-port <port>", "also serve every volume over NBD on this port (export names: volume, snapshot or attachment ids; <volume>:ro read-only)")
    .option("--nbd-psk-file <file>", "NBD clients must use TLS with this pre-shared key (psktool format, identity:hexkey; default: a new key each start, printed and written to <data-dir>/nbd-tls/keys.psk)")
    .option("--nbd-insecure", "serve NBD without TLS (loopback --host only): every local process can then read and write every volume")
    .option("--nbd-max-connections <n>", "open NBD connections allowed per client address (default 64)")
    // Loaded on use: the HTTP server (fastify) is not needed by any other command's start-up.
    .action(run(async (options: EmulatorServeOptions) => (await import("./commands/emulator-serve.ts")).emulatorServeCommand(options)));

  try {
    await cli.parseAsync(argv);
    await closeBackends();
    return exitCode;
  } catch (err) {
    await closeBackends().catch(() => undefined);
    // help and version exit 0; usage errors were already printed by commander
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    return reportError(err);
  }
}

/** An error nothing awaited (the program's own run in a worker and never reach here). */
function onUncaught(err: unknown): void {
  process.exitCode = reportError(err);
  process.exit();
}
