// Installation closure of a package set, computed the way apt's internal solver does it for an
// empty system (`apt-get -s -o Dir::State::status=/dev/null install PKGS`), so results match apt.
//
// The marking follows apt's pkgDepCache::MarkInstall (apt 2.6, apt-pkg/depcache.cc): candidates
// only (the highest version), or-groups tried in order with providers sorted like apt's
// CompareProviders, a package whose dependencies cannot be met by any candidate is discarded so
// the next alternative is tried, and finally packages no longer reachable from the request
// (leftovers of failed alternatives) are dropped, as apt's autoremover does for new installs.
// Where apt would give up because a dependency needs a non-candidate version, a second pass
// allows older versions; apt never succeeds in those cases, so agreement with apt is kept.

import { compareVersions, parseConstraint, satisfies, type RelationOp } from "./debian-version.ts";
import type { PackageCatalog, PackageRecord, ProvidesEntry } from "./package-catalog.ts";
import type { SolverReason } from "./package-reason.ts";
import { archRestrictionAllows, formatGroup, formatRelation, type Relation, type RelationGroup } from "./package-relations.ts";

export interface PackageRequest {
  name: string;
  /** e.g. ">= 17.0.14", "<< 2", "= 1.5.0-1+b6"; a bare version means "=". */
  constraint?: string;
}

export interface ResolveOptions {
  /** Allow versions other than the candidate when a dependency needs them (default true). */
  allowOlderVersions?: boolean;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  architecture: string;
  sha256?: string;
  /** KiB, as Installed-Size in the index. */
  installedSize: number;
  /** Bytes of the .deb. */
  size: number;
  filename?: string;
  essential: boolean;
  reason: SolverReason;
}

export interface Resolution {
  ok: true;
  /** Sorted by name. */
  packages: ResolvedPackage[];
  installedSizeKiB: number;
  downloadBytes: number;
}

/** Why one candidate of a dependency was ruled out. */
export interface RuledOut {
  package: string;
  version?: string;
  why: "missing" | "version" | "conflict" | "uninstallable" | "not-selected" | "architecture";
  detail: string;
  /** For an uninstallable candidate: why its own failing dependency cannot be met. */
  because?: RuledOut[];
}

export interface Problem {
  /** Chain from a requested package down to the package whose relation failed. */
  chain: string[];
  /** The package whose relation cannot be met (or the requested name). */
  package: string;
  version?: string;
  relation: string;
  field: "Request" | "Depends" | "Pre-Depends" | "Conflicts" | "Breaks";
  candidates: RuledOut[];
}

export interface Unsatisfiable {
  ok: false;
  problems: Problem[];
  /** Human-readable explanation of every problem, one block each. */
  explanation: string;
}

export type ResolveResult = Resolution | Unsatisfiable;

type Field = "Depends" | "Pre-Depends" | "Conflicts" | "Breaks";

interface Dep {
  group: RelationGroup;
  field: Field;
  negative: boolean;
}

const PRIORITY_RANK: Record<string, number> = { required: 1, important: 2, standard: 3, optional: 4, extra: 5 };

type Discard =
  | { kind: "depends"; rec: PackageRecord; dep: Dep }
  | { kind: "conflicted"; rec: PackageRecord; dep: Dep; by: PackageRecord };

interface PkgState {
  cand: PackageRecord | null;
  inst: PackageRecord | null;
  protect: boolean;
}

class Marker {
  private readonly catalog: PackageCatalog;
  private readonly relaxed: boolean;
  private readonly state = new Map<string, PkgState>();
  private readonly depsCache = new Map<PackageRecord, Dep[]>();
  /** Why a package's candidate was discarded; used for explanations. */
  readonly discarded = new Map<string, Discard>();
  private readonly nameRank = new Map<string, number>();

  constructor(catalog: PackageCatalog, relaxed: boolean) {
    this.catalog = catalog;
    this.relaxed = relaxed;
  }

  st(name: string): PkgState {
    let s = this.state.get(name);
    if (s === undefined) {
      s = { cand: this.catalog.candidate(name) ?? null, inst: null, protect: false };
      this.state.set(name, s);
    }
    return s;
  }

  installed(): PackageRecord[] {
    const out: PackageRecord[] = [];
    for (const s of this.state.values()) if (s.inst !== null) out.push(s.inst);
    return out;
  }

  deps(rec: PackageRecord): Dep[] {
    let d = this.depsCache.get(rec);
    if (d === undefined) {
      const r = this.catalog.relations(rec);
      const arch = this.catalog.nativeArch;
      // Alternatives restricted to other architectures do not exist for us.
      const keep = (g: RelationGroup): RelationGroup => g.filter((rel) => archRestrictionAllows(rel.archRestrictions, arch));
      d = [];
      // apt's dependency list order: Pre-Depends, Depends, Conflicts, Breaks.
      for (const g of r.preDepends) d.push({ group: keep(g), field: "Pre-Depends", negative: false });
      for (const g of r.depends) d.push({ group: keep(g), field: "Depends", negative: false });
      for (const g of r.conflicts) for (const rel of keep(g)) d.push({ group: [rel], field: "Conflicts", negative: true });
      for (const g of r.breaks) for (const rel of keep(g)) d.push({ group: [rel], field: "Breaks", negative: true });
      d = d.filter((x) => x.group.length > 0);
      this.depsCache.set(rec, d);
    }
    return d;
  }

  /** Does the real package `rec` match relation `rel` (name, arch qualifier, version)? */
  realMatches(rel: Relation, rec: PackageRecord): boolean {
    if (!this.archQualifierOk(rel, rec, rec.multiArch)) return false;
    return rel.op === undefined || satisfies(rec.version, rel.op, rel.version!);
  }

  archQualifierOk(rel: Relation, rec: PackageRecord, multiArch: string | undefined): boolean {
    const q = rel.archQualifier;
    if (q === undefined || q === "native") return true;
    // `pkg:any` is only satisfied by Multi-Arch: allowed packages (and their provides).
    if (q === "any") return multiArch === "allowed";
    return q === this.catalog.nativeArch || (rec.architecture === "all" && q === this.catalog.nativeArch);
  }

  provideMatches(rel: Relation, p: ProvidesEntry): boolean {
    const q = rel.archQualifier;
    if (q === "any") {
      if (p.record.multiArch !== "allowed" && p.provided.archQualifier !== "any") return false;
    } else if (q !== undefined && q !== "native" && q !== this.catalog.nativeArch) return false;
    if (p.provided.archQualifier !== undefined && p.provided.archQualifier !== "any" && p.provided.archQualifier !== this.catalog.nativeArch) {
      return false;
    }
    if (rel.op === undefined) return true;
    // An unversioned provide never satisfies a versioned dependency.
    return p.provided.version !== undefined && satisfies(p.provided.version, rel.op, rel.version!);
  }

  /** The record (real or provider) that satisfies `rel` under the chosen state view, if any. */
  satisfiedBy(rel: Relation, parent: string, negative: boolean, view: "inst" | "cand"): PackageRecord | undefined {
    if (!(negative && rel.name === parent)) {
      const s = this.st(rel.name);
      const r = view === "inst" ? s.inst : s.cand;
      if (r !== null && this.realMatches(rel, r)) return r;
    }
    for (const p of this.catalog.providers(rel.name)) {
      if (negative && p.record.name === parent) continue;
      const s = this.st(p.record.name);
      if ((view === "inst" ? s.inst : s.cand) !== p.record) continue;
      if (this.provideMatches(rel, p)) return p.record;
    }
    return undefined;
  }

  /** Any version (not only the candidate) that could satisfy `rel`, highest first. */
  anyVersionSatisfying(rel: Relation): PackageRecord[] {
    const out: PackageRecord[] = [];
    for (const r of this.catalog.versions(rel.name)) if (this.realMatches(rel, r)) out.push(r);
    for (const p of this.catalog.providers(rel.name)) if (this.provideMatches(rel, p)) out.push(p.record);
    return out;
  }

  private rank(name: string): number {
    let r = this.nameRank.get(name);
    if (r === undefined) {
      r = this.catalog.versions(name).reduce((m, v) => Math.min(m, v.seq), Number.MAX_SAFE_INTEGER);
      this.nameRank.set(name, r);
    }
    return r;
  }

  /** apt's CompareProviders for an empty system: negative when `a` is preferred. */
  private compareProviders(target: string, a: PackageRecord, b: PackageRecord): number {
    const pa = this.st(a.name).protect;
    const pb = this.st(b.name).protect;
    if (pa !== pb) return pa ? -1 : 1;
    if (a.name !== b.name) {
      if (a.name === target) return -1;
      if (b.name === target) return 1;
    }
    if (a.essential !== b.essential) return a.essential ? -1 : 1;
    if (a.important !== b.important) return a.important ? -1 : 1;
    const ra = PRIORITY_RANK[a.priority ?? ""] ?? 0;
    const rb = PRIORITY_RANK[b.priority ?? ""] ?? 0;
    if (ra !== rb) return ra - rb;
    // apt falls back to the package id (later-created first); first appearance is our proxy.
    return this.rank(b.name) - this.rank(a.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** apt's getAllPossibleSolutions(..., CANDIDATE, sorted=true). */
  possibleSolutions(dep: Dep, parent: string): PackageRecord[] {
    const all: PackageRecord[] = [];
    for (const rel of dep.group) {
      const vers: PackageRecord[] = [];
      if (!(dep.negative && rel.name === parent)) {
        const c = this.st(rel.name).cand;
        if (c !== null && this.realMatches(rel, c)) vers.push(c);
      }
      for (const p of this.catalog.providers(rel.name)) {
        if (dep.negative && p.record.name === parent) continue;
        if (this.st(p.record.name).cand !== p.record) continue;
        if (this.provideMatches(rel, p) && !vers.includes(p.record)) vers.push(p.record);
      }
      vers.sort((a, b) => this.compareProviders(rel.name, a, b));
      all.push(...vers);
    }
    const uniq = all.filter((v, i) => i === 0 || all[i - 1] !== v);
    if (dep.negative) return uniq;
    return uniq.filter((v) => {
      const s = this.st(v.name);
      return !(s.protect && s.inst === null);
    });
  }

  private discard(name: string, why: Discard): void {
    const s = this.st(name);
    s.inst = null;
    s.cand = null;
    if (!this.discarded.has(name)) this.discarded.set(name, why);
  }

  /** pkgDepCache::MarkInstall for a system with nothing installed. */
  markInstall(name: string, autoInst: boolean, depth: number, fromUser: boolean): boolean {
    const P = this.st(name);
    if (depth > 3000) return false;
    // IsModeChangeOk: a protected package that is not to be installed stays that way.
    if (!fromUser && P.inst === null && P.protect) return false;
    if (P.cand === null) return false;
    if (!P.protect && P.inst !== null && P.inst === P.cand && !this.instBroken(P.inst)) return true;

    // IsInstallOkDependenciesSatisfiableByCandidates
    if (autoInst) {
      const cv = P.cand;
      for (const dep of this.deps(cv)) {
        if (dep.negative) continue;
        const ok = dep.group.some(
          (rel) =>
            this.satisfiedBy(rel, name, false, "inst") !== undefined ||
            this.satisfiedBy(rel, name, false, "cand") !== undefined ||
            (this.relaxed && this.anyVersionSatisfying(rel).some((r) => this.st(r.name).inst === null || this.st(r.name).inst === r)),
        );
        if (!ok) {
          if (!P.protect) this.discard(name, { kind: "depends", rec: cv, dep });
          return false;
        }
      }
    }

    if (fromUser) P.inst = P.cand;
    const failEarly = !P.protect && !fromUser;
    let hasFailed = false;
    const toInstall: Dep[] = [];
    if (autoInst) {
      const pv = P.cand;
      const toRemove: Dep[] = [];
      for (const dep of this.deps(pv)) {
        const satisfied = dep.negative
          ? this.satisfiedBy(dep.group[0]!, name, true, "inst") === undefined
          : dep.group.some((rel) => this.satisfiedBy(rel, name, false, "inst") !== undefined);
        if (satisfied && !P.protect) continue;
        (dep.negative ? toRemove : toInstall).push(dep);
      }
      // MarkInstall_RemoveConflictsIfNotUpgradeable: unmark packages our candidate conflicts with.
      let failedRemove = false;
      for (const dep of toRemove) {
        for (const v of this.possibleSolutions(dep, name)) {
          const s = this.st(v.name);
          if (s.cand !== v) continue;
          if (s.inst !== null) {
            if (s.protect) {
              failedRemove = true;
              if (!P.protect && !fromUser) break;
            } else {
              s.inst = null;
            }
          } else if (P.protect) {
            s.cand = null;
            s.protect = true;
            if (!this.discarded.has(v.name)) this.discarded.set(v.name, { kind: "conflicted", rec: v, dep, by: pv });
          }
        }
        if (failedRemove && !P.protect && !fromUser) break;
      }
      if (failedRemove) {
        if (failEarly) return false;
        hasFailed = true;
      }
    }
    if (!fromUser) P.inst = P.cand;
    if (!autoInst) return !hasFailed;

    const propagateProtected = P.protect;
    if (!propagateProtected) P.protect = true; // scoped, like apt's ScopedProtected
    try {
      const failedDep = this.installDependencies(name, depth, toInstall, propagateProtected, fromUser);
      if (failedDep !== null) {
        if (failEarly) {
          this.discard(name, { kind: "depends", rec: P.cand!, dep: failedDep });
          return false;
        }
        hasFailed = true;
      }
    } finally {
      if (!propagateProtected) P.protect = false;
    }
    return !hasFailed;
  }

  private instBroken(rec: PackageRecord): boolean {
    for (const dep of this.deps(rec)) {
      if (dep.negative) {
        if (this.satisfiedBy(dep.group[0]!, rec.name, true, "inst") !== undefined) return true;
      } else if (!dep.group.some((rel) => this.satisfiedBy(rel, rec.name, false, "inst") !== undefined)) return true;
    }
    return false;
  }

  /** Returns the first dependency that could not be met, or null. */
  private installDependencies(name: string, depth: number, toInstall: Dep[], propagateProtected: boolean, fromUser: boolean): Dep | null {
    let failed: Dep | null = null;
    for (const dep of toInstall) {
      let found = dep.group.some((rel) => this.satisfiedBy(rel, name, false, "inst") !== undefined);
      if (found && !propagateProtected) continue;
      if (found) {
        // Protection propagates along dependencies that have a single possible solution.
        const sols = this.possibleSolutions(dep, name);
        if (sols.length !== 1) continue;
        const only = sols[0]!;
        if (this.st(only.name).protect) continue;
        this.st(only.name).protect = true;
        if (!this.markInstall(only.name, true, depth + 1, false)) failed ??= dep;
        continue;
      }
      const sols = this.possibleSolutions(dep, name);
      for (const v of sols) {
        if (this.st(v.name).cand !== v) continue;
        if (propagateProtected && sols.length === 1) {
          if (!this.markInstall(v.name, false, depth + 1, false)) continue;
          this.st(v.name).protect = true;
        }
        if (!this.markInstall(v.name, true, depth + 1, false)) continue;
        found = true;
        break;
      }
      if (!found && this.relaxed) found = this.tryOlderVersions(dep, depth);
      if (!found) {
        failed ??= dep;
        if (!propagateProtected && !fromUser) break;
      }
    }
    return failed;
  }

  /** Second pass only: switch a not-yet-installed package to an older version that satisfies `dep`. */
  private tryOlderVersions(dep: Dep, depth: number): boolean {
    for (const rel of dep.group) {
      for (const r of this.anyVersionSatisfying(rel)) {
        const s = this.st(r.name);
        if (s.inst !== null || s.protect) continue;
        const saved = s.cand;
        s.cand = r;
        if (this.markInstall(r.name, true, depth + 1, false)) return true;
        if (s.inst === null) s.cand = saved;
      }
    }
    return false;
  }
}

interface ParsedRequest {
  name: string;
  /** The real package apt-get would select for a virtual request with a single provider. */
  selectedAs?: string;
  op?: RelationOp;
  version?: string;
  constraint?: string;
}

function parseRequest(r: PackageRequest): ParsedRequest {
  if (r.name.trim() === "") throw new Error("package request with an empty name");
  if (r.constraint === undefined || r.constraint.trim() === "") return { name: r.name };
  const c = parseConstraint(r.constraint);
  return { name: r.name, op: c.op, version: c.version, constraint: `${c.op} ${c.version}` };
}

interface Attempt {
  marker: Marker;
  requestProblems: Problem[];
}

function attempt(catalog: PackageCatalog, requests: ParsedRequest[], relaxed: boolean): Attempt {
  const marker = new Marker(catalog, relaxed);
  const requestProblems: Problem[] = [];
  const ok: string[] = [];
  for (const r of requests) {
    const s = marker.st(r.name);
    const versions = catalog.versions(r.name);
    const relation = r.op !== undefined ? `${r.name} (${r.op} ${r.version})` : r.name;
    if (versions.length === 0) {
      const providers = catalog.providers(r.name);
      // apt-get selects the sole provider of a virtual name ("Note, selecting X instead of Y").
      const soleProviders = [...new Set(providers.filter((p) => catalog.candidate(p.record.name) === p.record).map((p) => p.record.name))];
      if (soleProviders.length === 1 && r.op === undefined && catalog.versions(soleProviders[0]!).length > 0) {
        const sole = soleProviders[0]!;
        marker.st(sole).protect = true;
        ok.push(sole);
        r.selectedAs = sole;
        continue;
      }
      const candidates: RuledOut[] =
        providers.length > 0
          ? [...new Set(providers.map((p) => p.record.name))].sort().map((pn) => ({
              package: pn,
              version: catalog.candidate(pn)?.version ?? "",
              why: "not-selected" as const,
              detail: `${r.name} is a virtual package provided by ${pn}; request one of its providers explicitly`,
            }))
          : [{ package: r.name, why: "missing", detail: `no package named ${r.name} in the catalog` }];
      requestProblems.push({ chain: [relation], package: r.name, relation, field: "Request", candidates });
      continue;
    }
    const chosen = r.op !== undefined ? versions.find((v) => satisfies(v.version, r.op!, r.version!)) : versions[0];
    if (chosen === undefined) {
      requestProblems.push({
        chain: [relation],
        package: r.name,
        relation,
        field: "Request",
        candidates: versions.map((v) => ({
          package: v.name,
          version: v.version,
          why: "version",
          detail: `${v.name} ${v.version} does not satisfy ${r.op} ${r.version}`,
        })),
      });
      continue;
    }
    // Like `apt-get install pkg=version`: the request selects the candidate and protects it.
    s.cand = chosen;
    s.protect = true;
    ok.push(r.name);
  }
  // apt-get marks every requested package first, then auto-installs dependencies in turn.
  for (const n of ok) marker.markInstall(n, false, 0, true);
  for (const n of ok) marker.markInstall(n, true, 0, true);
  return { marker, requestProblems };
}

function criticalDeps(catalog: PackageCatalog, rec: PackageRecord): { group: RelationGroup; field: "Depends" | "Pre-Depends" }[] {
  const r = catalog.relations(rec);
  const arch = catalog.nativeArch;
  const out: { group: RelationGroup; field: "Depends" | "Pre-Depends" }[] = [];
  for (const g of r.preDepends) out.push({ group: g.filter((x) => archRestrictionAllows(x.archRestrictions, arch)), field: "Pre-Depends" });
  for (const g of r.depends) out.push({ group: g.filter((x) => archRestrictionAllows(x.archRestrictions, arch)), field: "Depends" });
  return out.filter((d) => d.group.length > 0);
}

/**
 * Resolves the installation closure of `requests` against `catalog`. Never throws for an
 * unsatisfiable request: the result then carries the problems and their explanation.
 */
export function resolve(catalog: PackageCatalog, requests: PackageRequest[], options: ResolveOptions = {}): ResolveResult {
  const parsed = requests.map(parseRequest);
  let run = attempt(catalog, parsed, false);
  let problems = run.requestProblems.length > 0 ? run.requestProblems : findProblems(catalog, run.marker, parsed);
  if (problems.length > 0 && run.requestProblems.length === 0 && options.allowOlderVersions !== false) {
    const relaxed = attempt(catalog, parsed, true);
    const relaxedProblems = findProblems(catalog, relaxed.marker, parsed);
    if (relaxedProblems.length === 0) {
      run = relaxed;
      problems = [];
    }
  }
  if (problems.length > 0) return { ok: false, problems, explanation: explain(problems) };
  return closure(catalog, run.marker, parsed);
}

/** Keeps what is reachable from the request (apt drops new installs that became garbage). */
function closure(catalog: PackageCatalog, marker: Marker, requests: ParsedRequest[]): Resolution {
  const installed = new Map<string, PackageRecord>();
  for (const rec of marker.installed()) installed.set(rec.name, rec);
  const reasons = new Map<string, SolverReason>();
  const queue: PackageRecord[] = [];
  const reach = (rec: PackageRecord, reason: SolverReason): void => {
    if (reasons.has(rec.name)) return;
    reasons.set(rec.name, reason);
    queue.push(rec);
  };
  for (const r of requests) {
    const rec = installed.get(r.selectedAs ?? r.name);
    if (rec === undefined) continue;
    const reason: SolverReason = { kind: "requested" };
    if (r.constraint !== undefined) reason.constraint = r.constraint;
    if (r.selectedAs !== undefined) reason.via = r.name;
    reach(rec, reason);
  }
  for (let i = 0; i < queue.length; i++) {
    const rec = queue[i]!;
    for (const { group, field } of criticalDeps(catalog, rec)) {
      for (const rel of group) {
        const reason: SolverReason = { kind: "dependency", parent: rec.name, field, relation: formatRelation(rel) };
        const real = installed.get(rel.name);
        if (real !== undefined && marker.realMatches(rel, real)) reach(real, reason);
        for (const p of catalog.providers(rel.name)) {
          if (installed.get(p.record.name) === p.record && marker.provideMatches(rel, p)) reach(p.record, reason);
        }
      }
    }
    if (i === queue.length - 1) {
      // Essential packages that got marked are in apt's root set too, so they are not garbage.
      for (const e of installed.values()) if ((e.essential || e.important) && !reasons.has(e.name)) reach(e, { kind: "essential" });
    }
  }
  const packages: ResolvedPackage[] = [];
  for (const [name, reason] of reasons) {
    const rec = installed.get(name)!;
    const p: ResolvedPackage = {
      name: rec.name,
      version: rec.version,
      architecture: rec.architecture,
      installedSize: rec.installedSize,
      size: rec.size,
      essential: rec.essential,
      reason,
    };
    if (rec.sha256 !== undefined) p.sha256 = rec.sha256;
    if (rec.filename !== undefined) p.filename = rec.filename;
    packages.push(p);
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    ok: true,
    packages,
    installedSizeKiB: packages.reduce((s, p) => s + p.installedSize, 0),
    downloadBytes: packages.reduce((s, p) => s + p.size, 0),
  };
}

/** Finds broken relations in the marked state and explains each candidate's fate. */
function findProblems(catalog: PackageCatalog, marker: Marker, requests: ParsedRequest[]): Problem[] {
  const installed = new Map<string, PackageRecord>();
  for (const rec of marker.installed()) installed.set(rec.name, rec);
  const problems: Problem[] = [];
  // Parent links for chains: first package (in marking order) whose dependency names this one.
  const parents = new Map<string, string>();
  for (const rec of installed.values()) {
    for (const { group } of criticalDeps(catalog, rec)) {
      for (const rel of group) {
        const hit = marker.satisfiedBy(rel, rec.name, false, "inst");
        if (hit !== undefined && hit.name !== rec.name && !parents.has(hit.name)) parents.set(hit.name, rec.name);
      }
    }
  }
  const requested = new Set(requests.map((r) => r.selectedAs ?? r.name));
  const chainTo = (name: string): string[] => {
    const chain: string[] = [];
    const seen = new Set<string>();
    let cur: string | undefined = name;
    while (cur !== undefined && !seen.has(cur)) {
      seen.add(cur);
      const rec = installed.get(cur);
      chain.unshift(rec !== undefined ? `${cur} ${rec.version}` : cur);
      if (requested.has(cur)) break;
      cur = parents.get(cur);
    }
    return chain;
  };

  for (const r of requests) {
    if (installed.has(r.selectedAs ?? r.name)) continue;
    const rec = marker.st(r.name).cand ?? catalog.candidate(r.name);
    const relation = r.op !== undefined ? `${r.name} (${r.op} ${r.version})` : r.name;
    const why = rec !== undefined ? uninstallableReason(catalog, marker, installed, rec, new Set()) : undefined;
    problems.push({
      chain: [relation],
      package: r.name,
      relation,
      field: "Request",
      candidates: [why ?? { package: r.name, why: "missing", detail: `${r.name} has no installable version` }],
    });
  }

  const sortedInstalled = [...installed.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const rec of sortedInstalled) {
    for (const { group, field } of criticalDeps(catalog, rec)) {
      if (group.some((rel) => marker.satisfiedBy(rel, rec.name, false, "inst") !== undefined)) continue;
      problems.push({
        chain: chainTo(rec.name),
        package: rec.name,
        version: rec.version,
        relation: formatGroup(group),
        field,
        candidates: group.flatMap((rel) => ruleOut(catalog, marker, installed, rel, new Set())),
      });
    }
    const r = catalog.relations(rec);
    for (const [field, groups] of [
      ["Conflicts", r.conflicts],
      ["Breaks", r.breaks],
    ] as const) {
      for (const g of groups) {
        for (const rel of g) {
          const hit = marker.satisfiedBy(rel, rec.name, true, "inst");
          if (hit === undefined) continue;
          problems.push({
            chain: chainTo(rec.name),
            package: rec.name,
            version: rec.version,
            relation: formatRelation(rel),
            field,
            candidates: [
              {
                package: hit.name,
                version: hit.version,
                why: "conflict",
                detail: requested.has(hit.name)
                  ? `${hit.name} ${hit.version} is requested too`
                  : `${hit.name} ${hit.version} is needed too: ${chainTo(hit.name).join(" -> ")}`,
              },
            ],
          });
        }
      }
    }
  }
  return problems;
}

function ruleOut(catalog: PackageCatalog, marker: Marker, installed: Map<string, PackageRecord>, rel: Relation, seen: Set<string>): RuledOut[] {
  const out: RuledOut[] = [];
  const versions = catalog.versions(rel.name);
  const providers = catalog.providers(rel.name);
  if (versions.length === 0 && providers.length === 0) {
    out.push({ package: rel.name, why: "missing", detail: `no package or provider named ${rel.name}` });
    return out;
  }
  for (const v of versions) {
    if (!marker.archQualifierOk(rel, v, v.multiArch)) {
      out.push({
        package: v.name,
        version: v.version,
        why: "architecture",
        detail: `${v.name} ${v.version} (Multi-Arch: ${v.multiArch ?? "no"}) cannot satisfy ${rel.name}:${rel.archQualifier}`,
      });
    } else if (rel.op !== undefined && !satisfies(v.version, rel.op, rel.version!)) {
      out.push({ package: v.name, version: v.version, why: "version", detail: `${v.name} ${v.version} does not satisfy ${rel.op} ${rel.version}` });
    } else {
      out.push(uninstallableReason(catalog, marker, installed, v, seen));
    }
  }
  for (const p of providers) {
    if (!marker.provideMatches(rel, p)) {
      const pv = p.provided.version;
      out.push({
        package: p.record.name,
        version: p.record.version,
        why: "version",
        detail:
          pv === undefined
            ? `${p.record.name} ${p.record.version} provides ${p.provided.name} without a version, which cannot satisfy ${rel.op} ${rel.version}`
            : `${p.record.name} ${p.record.version} provides ${p.provided.name} ${pv}, which does not satisfy ${rel.op} ${rel.version}`,
      });
    } else {
      out.push(uninstallableReason(catalog, marker, installed, p.record, seen));
    }
  }
  return out;
}

function uninstallableReason(catalog: PackageCatalog, marker: Marker, installed: Map<string, PackageRecord>, v: PackageRecord, seen: Set<string>): RuledOut {
  const inst = installed.get(v.name);
  if (inst !== undefined && inst !== v) {
    return { package: v.name, version: v.version, why: "not-selected", detail: `${v.name} ${inst.version} is selected instead of ${v.version}` };
  }
  const cand = marker.st(v.name).cand;
  const d = marker.discarded.get(v.name);
  if (d === undefined && cand !== null && cand !== v) {
    return { package: v.name, version: v.version, why: "not-selected", detail: `${v.name} ${v.version} is not the candidate (${cand.version} is)` };
  }
  if (d === undefined) return { package: v.name, version: v.version, why: "uninstallable", detail: `${v.name} ${v.version} is not installable` };
  if (d.kind === "conflicted") {
    return {
      package: v.name,
      version: v.version,
      why: "conflict",
      detail: `${v.name} ${v.version} is ruled out by ${d.by.name} ${d.by.version} ${d.dep.field}: ${formatGroup(d.dep.group)}`,
    };
  }
  const key = `${d.rec.name} ${d.rec.version}`;
  const out: RuledOut = {
    package: v.name,
    version: v.version,
    why: "uninstallable",
    detail: `${v.name} ${v.version} is not installable: ${d.dep.field}: ${formatGroup(d.dep.group)} cannot be satisfied`,
  };
  // Explain the failing dependency one level further, without looping through cycles.
  if (!seen.has(key) && seen.size < 8) {
    const next = new Set(seen).add(key);
    out.because = d.dep.group.flatMap((rel) => ruleOut(catalog, marker, installed, rel, next));
  }
  return out;
}

export function explain(problems: Problem[]): string {
  const blocks: string[] = [];
  for (const p of problems) {
    const lines: string[] = [];
    if (p.field === "Request") lines.push(`cannot install requested ${p.relation}`);
    else if (p.field === "Conflicts" || p.field === "Breaks") lines.push(`${p.package} ${p.version ?? ""} ${p.field}: ${p.relation}, which is also to be installed`);
    else lines.push(`${p.package} ${p.version ?? ""} ${p.field}: ${p.relation} cannot be satisfied`);
    if (p.chain.length > 1) lines.push(`  needed by: ${p.chain.join(" -> ")}`);
    const put = (cs: RuledOut[], indent: string): void => {
      for (const c of cs) {
        lines.push(`${indent}- ${c.detail}`);
        if (c.because !== undefined) put(c.because, `${indent}  `);
      }
    };
    put(p.candidates, "  ");
    blocks.push(lines.join("\n"));
  }
  return blocks.join("\n");
}

/** Stable sort helper used by callers comparing resolutions: by name, then version. */
export function compareResolved(a: ResolvedPackage, b: ResolvedPackage): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version);
}
