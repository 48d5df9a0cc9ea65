// Where a working directory keeps virtform's files: `.virtform/state/<stack>.json` for state and
// `.virtform/emulator/` for the embedded emulator's data.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { FileStateStore } from "../engine/state-file.ts";
import type { State } from "../engine/state.ts";
import { StateCipher } from "../engine/state-crypto.ts";
import { secretPathsOf } from "../sdk/kinds/index.ts";
import { stackName } from "../sdk/names.ts";
import { acquireLockNow, LockedError, type LockInfo, type StateLock } from "../engine/state-lock.ts";
import { acquireInUseLock, InUseError, type InUseLock } from "../provider/in-use-lock.ts";
import { EmbeddedBackend } from "../provider/embedded-backend.ts";
import type { HttpBackend } from "../provider/http-backend.ts";
import type { LibvirtBackend } from "../provider/libvirt/libvirt-backend.ts";
import { VirtformProvider } from "../provider/virtform-provider.ts";
import { CliError } from "./cli-error.ts";
import { backendNames, readStackConfig, type BackendName } from "./stack-config.ts";

/** Set from the global `--endpoint` option; VIRTFORM_ENDPOINT otherwise. */
let endpointOption: string | undefined;
export function setEndpoint(url: string | undefined): void {
  endpointOption = url;
}

/** Set from the global `--backend` option; VIRTFORM_BACKEND otherwise, then the stack's config. */
let backendOption: string | undefined;
export function setBackend(name: string | undefined): void {
  backendOption = name;
}

export class Workspace {
  readonly root: string;
  readonly cwd: string;

  constructor(cwd = process.cwd()) {
    this.cwd = resolve(cwd);
    this.root = resolve(cwd, ".virtform");
  }

  get stateDir(): string {
    return join(this.root, "state");
  }

  get emulatorDir(): string {
    return join(this.root, "emulator");
  }

  /** Takes the stack's state lock; a lock left by a dead process here is taken over, with a note. */
  async lock(stack: string, operation: string, timeoutMs: number): Promise<StateLock> {
    return this.stateStore(stack).lock(operation, { timeoutMs, onStale: noteStaleLock });
  }

  stateStore(stack: string): FileStateStore {
    checkStackName(stack);
    const cipher = stateCipher();
    return new FileStateStore(join(this.stateDir, `${stack}.json`), stack, {
      pathsOf: secretPathsOf,
      ...(cipher ? { cipher } : {}),
    });
  }

  /** Another stack's state as it is on disk, without its lock or its secrets: for a look at its ids. */
  peekState(stack: string): State {
    return new FileStateStore(join(this.stateDir, `${stack}.json`), stack).peek();
  }

  stacks(): string[] {
    try {
      return readdirSync(this.stateDir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -".json".length))
        .sort();
    } catch {
      return [];
    }
  }

  /** The stack named, or the only one there is. */
  pickStack(name: string | undefined): string {
    if (name) return name;
    const stacks = this.stacks();
    if (stacks.length === 1) return stacks[0]!;
    if (stacks.length === 0) throw new CliError(`no state in ${this.stateDir}: nothing has been applied here yet`);
    throw new CliError(`several stacks have state here (${stacks.join(", ")}); choose one with --stack`);
  }

  embeddedBackend(): EmbeddedBackend {
    holdEmulatorData(this.emulatorDir, "embedded emulator");
    const backend = EmbeddedBackend.open(this.emulatorDir);
    opened.push({ backend, dir: this.emulatorDir });
    return backend;
  }

  /**
   * A served emulator (`virtform emulator serve`) when an endpoint is set, or undefined. Its client,
   * like the libvirt backend, is loaded when used: the embedded emulator is what most runs use.
   */
  async httpBackend(): Promise<HttpBackend | undefined> {
    const endpoint = endpointOption ?? process.env.VIRTFORM_ENDPOINT;
    if (!endpoint) return undefined;
    if (!/^https?:\/\/[^/]/.test(endpoint)) throw new CliError(`the endpoint must be an http(s) URL, got "${endpoint}"`);
    const token = process.env.VIRTFORM_TOKEN;
    if (!token) throw new CliError(`the emulator at ${endpoint} needs a token: set VIRTFORM_TOKEN (printed by \`virtform emulator serve\`)`);
    const { HttpBackend } = await import("../provider/http-backend.ts");
    return new HttpBackend({ endpoint, token });
  }

  /**
   * The libvirt backend for a stack (its hosts from the stack config override the program's), with
   * its catalogue in `.virtform/libvirt/`; one process at a time uses it, as the emulator's data.
   */
  async libvirtBackend(stack: string | undefined): Promise<LibvirtBackend> {
    const config = stack ? readStackConfig(this.cwd, stack) : {};
    const dir = join(this.root, "libvirt");
    const { LibvirtBackend } = await import("../provider/libvirt/libvirt-backend.ts");
    holdEmulatorData(dir, "libvirt backend");
    const backend = new LibvirtBackend({ catalogueFile: join(dir, "catalogue.json"), ...(config.clusters && { clusterHosts: config.clusters }), ...(config.poolRoot && { poolRoot: config.poolRoot }) });
    openedLibvirt.push({ backend, dir });
    return backend;
  }

  /** Which backend a stack uses: --backend, else VIRTFORM_BACKEND, else its virtform.<stack>.json, else the emulator. */
  backendName(stack: string | undefined): BackendName {
    const named = backendOption ?? process.env.VIRTFORM_BACKEND;
    if (named !== undefined) {
      if (!(backendNames as readonly string[]).includes(named)) throw new CliError(`unknown backend "${named}"; known: ${backendNames.join(", ")}`);
      return named as BackendName;
    }
    return (stack && readStackConfig(this.cwd, stack).backend) || "emulator";
  }

  async provider(stack?: string): Promise<VirtformProvider> {
    if (this.backendName(stack) === "libvirt") return new VirtformProvider(await this.libvirtBackend(stack));
    return new VirtformProvider((await this.httpBackend()) ?? this.embeddedBackend());
  }
}

/** Said when a state lock left by a dead process here is taken over. */
export function noteStaleLock(holder: LockInfo): void {
  process.stderr.write(`note: took over a stale state lock ${holder.id} left by pid ${holder.pid} (${holder.operation} since ${holder.created}), which no longer runs\n`);
}

/** A stack name names files in the state dir: checked before any path is made of it. */
function checkStackName(stack: string): string {
  const parsed = stackName.safeParse(stack);
  if (!parsed.success) throw new CliError(`invalid stack name ${JSON.stringify(stack)}: ${parsed.error.issues[0]!.message}`);
  return stack;
}

let shared: { passphrase: string; cipher: StateCipher } | undefined;

/**
 * The cipher of state and saved plans: from VIRTFORM_PASSPHRASE, when it is set. One per process,
 * so its key (scrypt, deliberately slow) is derived once for state and saved plan alike.
 */
export function stateCipher(): StateCipher | undefined {
  const passphrase = process.env.VIRTFORM_PASSPHRASE;
  if (!passphrase) return undefined;
  if (shared?.passphrase !== passphrase) shared = { passphrase, cipher: new StateCipher(passphrase) };
  return shared.cipher;
}

const opened: { backend: EmbeddedBackend; dir: string }[] = [];
const openedLibvirt: { backend: LibvirtBackend; dir: string }[] = [];

/**
 * Closes the embedded emulators this run opened: the data plane finishes its work and its pools are
 * marked shut cleanly, so the next run trusts their high-water marks (after a kill it must treat
 * every slot as possibly written).
 */
export async function closeBackends(): Promise<void> {
  const dirs = new Set<string>();
  for (const { backend, dir } of opened.splice(0)) {
    await backend.emulator.close();
    dirs.add(dir);
  }
  for (const { backend, dir } of openedLibvirt.splice(0)) {
    backend.close();
    dirs.add(dir);
  }
  // Closed: the data dir is free for the next command, also one this process runs (tests run the CLI in process).
  for (const dir of dirs) letGoOfEmulatorData(dir);
}

/** In-use locks this process holds, by data dir, each with its release at exit. */
const held = new Map<string, { lock: InUseLock; atExit: () => void }>();

function letGoOfEmulatorData(dataDir: string): void {
  const hold = held.get(dataDir);
  if (!hold) return;
  held.delete(dataDir);
  process.off("exit", hold.atExit);
  hold.lock.release();
}

/**
 * One process at a time keeps an emulator's data dir open: `emulator serve` for its lifetime, a
 * command with the embedded emulator for its run. Two writers would overwrite each other's changes.
 */
export function holdEmulatorData(dataDir: string, operation: string): InUseLock {
  const already = held.get(dataDir);
  if (already) return already.lock;
  try {
    const lock = acquireInUseLock(dataDir, operation, (holder) =>
      process.stderr.write(`note: took over the emulator data lock left by pid ${holder.pid} (${holder.operation}), which no longer runs\n`),
    );
    const atExit = () => lock.release();
    held.set(dataDir, { lock, atExit });
    process.once("exit", atExit);
    return lock;
  } catch (err) {
    if (!(err instanceof InUseError)) throw err;
    const hint =
      err.holder.operation === "emulator serve"
        ? "reach it through the API instead: pass --endpoint URL or set VIRTFORM_ENDPOINT and VIRTFORM_TOKEN"
        : "wait for that command to finish";
    throw new CliError(`${err.message}; ${hint}`);
  }
}
