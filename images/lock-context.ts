// What plan and apply use for each image variant: the lock entry when it answers the program's
// request; otherwise (missing, stale, or no lock at all) a live resolution against a package
// catalog, and an unresolvable variant is an error. The catalog is the one named with --packages,
// else the one the lock records, else (no lock) the system's apt lists. When none is reachable the
// plan refuses, unless the user allows unlocked variants: their digests then cover the requested
// packages only. Every fallback is reported as a warning.
import { dirname, relative } from "node:path";
import type { Diagnostic } from "../core/model.ts";
import { own } from "../core/own.ts";
import type { ResolvedVariant } from "./variant.ts";
import { freshness, lockfilePathFor, readLockfile, withConfig, type Lockfile, type LockedVariant } from "./lockfile.ts";
import { loadCatalogFor, loadRecordedCatalog, packagesHint, resolveLockedVariant, type LoadedCatalog } from "./lock-builder.ts";
import { ImagesError } from "./images-error.ts";

interface Pending {
  address: string;
  variant: string;
  spec: ResolvedVariant;
  why: string;
}

export interface LockContextOptions {
  /** Packages files to resolve unlocked variants against (`--packages`). */
  packages?: string[];
  /** Plan with the requested packages alone when no catalog is reachable (`--allow-unlocked`). */
  allowUnlocked?: boolean;
}

export class LockContext {
  /** How the user named the program, for the command in hints. */
  private readonly programArg: string;
  private readonly options: LockContextOptions;
  readonly lockPath: string;
  readonly lock: Lockfile | undefined;
  readonly warnings: Diagnostic[] = [];
  readonly errors: Diagnostic[] = [];
  private readonly decided = new Map<string, LockedVariant | undefined>();
  private readonly pending = new Map<string, Pending>();
  private readonly live = new Map<string, LockedVariant>();

  constructor(programPath: string, programArg: string = relative(process.cwd(), programPath) || programPath, options: LockContextOptions = {}) {
    this.programArg = programArg;
    this.options = options;
    this.lockPath = lockfilePathFor(programPath);
    this.lock = readLockfile(this.lockPath);
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
      this.pending.set(key, { address, variant, spec, why: "there is no lock" });
    } else if (!entry) {
      this.pending.set(key, { address, variant, spec, why: "it has no entry in the lock" });
    } else {
      const state = freshness(entry, spec, this.lock.lockfileVersion);
      if (state === "fresh") result = entry;
      else if (state === "config-changed") {
        result = withConfig(entry, spec);
        this.warn(address, `${this.lockName()} is stale for ${key}: its config or contents changed; the locked packages still apply and the digest covers the new declaration. ${this.hint()}`);
      } else if (state === "outdated") {
        this.pending.set(key, { address, variant, spec, why: `it was locked by lockfile version ${this.lock.lockfileVersion}, whose sets lack the base's packages` });
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

  /** Resolves the missing, stale and unlocked variants against the catalog, when one is reachable. */
  async resolvePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const { loaded, unavailable } = await this.catalog();
    if (!loaded) this.noCatalog(unavailable);
    else this.resolveAgainst(loaded);
    this.pending.clear();
  }

  private async catalog(): Promise<{ loaded?: LoadedCatalog; unavailable?: string }> {
    // An explicit catalog wins (a missing file is the user's error, thrown); a lock's own catalog
    // keeps its entries consistent; the system's lists are the default when there is no lock at all.
    if (this.options.packages?.length) return { loaded: await loadCatalogFor(this.options.packages, dirname(this.lockPath)) };
    if (!this.lock) {
      try {
        return { loaded: await loadCatalogFor(this.options.packages, dirname(this.lockPath)) };
      } catch (err) {
        if (!(err instanceof ImagesError)) throw err;
        return { unavailable: err.message };
      }
    }
    return loadRecordedCatalog(this.lock.catalog, dirname(this.lockPath));
  }

  private resolveAgainst(loaded: LoadedCatalog): void {
    const unlocked = new Map<string, string[]>();
    for (const [key, p] of this.pending) {
      const result = resolveLockedVariant(loaded.catalog, p.spec);
      if (!result.ok) {
        this.errors.push({ severity: "error", address: p.address, path: `variants.${p.variant}`, message: `cannot resolve ${key} against ${loaded.description}:\n${result.explanation}` });
        continue;
      }
      this.live.set(key, result.variant);
      if (!this.lock) unlocked.set(p.address, [...(unlocked.get(p.address) ?? []), p.variant]);
      else this.warn(p.address, `${this.lockName()} is stale for ${key}: ${p.why}; this plan uses a live resolution against ${loaded.description}. ${this.hint()} to record it`);
    }
    for (const [address, variants] of unlocked) {
      this.warn(address, `no ${this.lockName()}: ${address} (${variants.join(", ")}) is not locked; this plan uses a live resolution against ${loaded.description}. ${this.hint()} to lock it`);
    }
  }

  /** Leaves the variants the lock does not answer unresolved (a review needs no catalog): their digests cover the requested packages, with a warning. */
  leaveUnresolved(why: string): void {
    if (this.pending.size === 0) return;
    this.noCatalog(why, true);
    this.pending.clear();
  }

  /** No catalog: refuse, or (allowed) plan with the requested packages alone. One message per image. */
  private noCatalog(unavailable: string | undefined, allowed = this.options.allowUnlocked === true): void {
    const byImage = new Map<string, Pending[]>();
    for (const p of this.pending.values()) byImage.set(p.address, [...(byImage.get(p.address) ?? []), p]);
    for (const [address, pending] of byImage) {
      const what = this.lock
        ? pending.map((p) => `${this.lockName()} is stale for ${address}:${p.variant}: ${p.why}`).join("; ")
        : `no ${this.lockName()}: ${address} (${pending.map((p) => p.variant).join(", ")}) is not locked`;
      if (allowed) {
        this.warn(address, `${what}, and ${unavailable}; its digests cover the requested packages only${this.options.allowUnlocked ? " (--allow-unlocked)" : ""}. ${this.hint()} where a package catalog is available`);
      } else {
        this.errors.push({
          severity: "error",
          address,
          path: pending.length === 1 ? `variants.${pending[0]!.variant}` : "variants",
          message: `${what}, and ${unavailable}. ${this.hint()} where a package catalog is available, pass --packages FILE, or plan the requested packages alone with --allow-unlocked`,
        });
      }
    }
  }

  private lockName(): string {
    return relative(process.cwd(), this.lockPath) || this.lockPath;
  }

  private hint(): string {
    const packages = this.options.packages?.length ? ` --packages ${this.options.packages.join(" ")}` : packagesHint(this.lock?.catalog, this.lockPath);
    return `Run 'virtform images lock ${this.programArg}${packages}'`;
  }

  private warn(address: string, message: string): void {
    this.warnings.push({ severity: "warning", address, message });
  }
}
