// What plan and apply use for each image variant: the lock entry when it answers the program's
// request; otherwise (stale or missing) a live resolution against the catalog the lock names, when
// that catalog is here; otherwise the request alone. Every fallback is reported as a warning.
import { dirname, relative } from "node:path";
import type { Diagnostic } from "../../engine/model.ts";
import { own } from "../../engine/own.ts";
import type { ResolvedVariant } from "../../sdk/kinds/image.ts";
import { freshness, lockPathFor, readLock, withConfig, type LockFile, type LockedVariant } from "../../sdk/lock.ts";
import { loadRecordedCatalog, packagesHint, resolveLockedVariant, type LoadedCatalog } from "./lock-builder.ts";

interface Pending {
  address: string;
  variant: string;
  spec: ResolvedVariant;
  why: string;
}

export class LockContext {
  private readonly programPath: string;
  /** How the user named the program, for the command in hints. */
  private readonly programArg: string;
  readonly lockPath: string;
  readonly lock: LockFile | undefined;
  readonly warnings: Diagnostic[] = [];
  readonly errors: Diagnostic[] = [];
  private readonly decided = new Map<string, LockedVariant | undefined>();
  private readonly pending = new Map<string, Pending>();
  private readonly unlocked = new Map<string, string[]>();
  private readonly live = new Map<string, LockedVariant>();

  constructor(programPath: string, programArg: string = relative(process.cwd(), programPath) || programPath) {
    this.programPath = programPath;
    this.programArg = programArg;
    this.lockPath = lockPathFor(programPath);
    this.lock = readLock(this.lockPath);
  }

  /** The lookup evaluation calls for every variant (memoized: instances ask again). */
  readonly lookup = (address: string, variant: string, spec: ResolvedVariant): LockedVariant | undefined => {
    const key = `${address}:${variant}`;
    const live = this.live.get(key);
    if (live) return live;
    if (this.decided.has(key)) return this.decided.get(key);
    const entry = own(own(this.lock?.images, address), variant);
    let result: LockedVariant | undefined;
    if (!this.lock) {
      this.unlocked.set(address, [...(this.unlocked.get(address) ?? []), variant]);
    } else if (!entry) {
      this.pending.set(key, { address, variant, spec, why: "it has no entry in the lock" });
    } else {
      const state = freshness(entry, spec);
      if (state === "fresh") result = entry;
      else if (state === "config-changed") {
        result = withConfig(entry, spec);
        this.warn(address, `${this.lockName()} is stale for ${key}: its config changed; the locked packages still apply and the digest covers the new config. ${this.hint()}`);
      } else {
        this.pending.set(key, { address, variant, spec, why: "its packages or base changed since it was locked" });
      }
    }
    this.decided.set(key, result);
    return result;
  };

  /** True when a second evaluation would see live resolutions the first did not. */
  get needsLiveResolution(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves the stale and missing variants against the lock's catalog when it is available here. */
  async resolvePending(): Promise<void> {
    if (this.pending.size === 0 || !this.lock) return;
    const { loaded, unavailable } = await loadRecordedCatalog(this.lock.catalog, dirname(this.lockPath));
    for (const [key, p] of this.pending) {
      if (!loaded) {
        this.warn(p.address, `${this.lockName()} is stale for ${key}: ${p.why}, and ${unavailable}; its digest covers the requested packages only. ${this.hint()} where a package catalog is available`);
        continue;
      }
      const result = resolveLockedVariant(loaded.catalog, p.spec);
      if (!result.ok) {
        this.errors.push({ severity: "error", address: p.address, path: `variants.${p.variant}`, message: `cannot resolve ${key} against ${loaded.description}:\n${result.explanation}` });
        continue;
      }
      this.live.set(key, result.variant);
      this.warn(p.address, `${this.lockName()} is stale for ${key}: ${p.why}; this plan uses a live resolution against ${describe(loaded)}. ${this.hint()} to record it`);
    }
    this.pending.clear();
  }

  /** Warnings for images when there is no lock at all (one per image, after evaluation). */
  finish(): void {
    for (const [address, variants] of this.unlocked) {
      this.warn(address, `no ${this.lockName()}: ${address} (${variants.join(", ")}) is not locked, so its digests cover the requested packages only, not their versions. Run 'virtform images lock ${this.programArg}' to lock it`);
    }
    this.unlocked.clear();
  }

  private lockName(): string {
    return relative(process.cwd(), this.lockPath) || this.lockPath;
  }

  private hint(): string {
    return `Run 'virtform images lock ${this.programArg}${packagesHint(this.lock?.catalog, this.lockPath)}'`;
  }

  private warn(address: string, message: string): void {
    this.warnings.push({ severity: "warning", address, message });
  }
}

function describe(loaded: LoadedCatalog): string {
  return loaded.description;
}
