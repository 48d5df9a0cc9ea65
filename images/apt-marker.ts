// apt's marking of an installation (pkgDepCache::MarkInstall, apt 2.6 apt-pkg/depcache.cc), for the
// dependency solver (dependency-solver.ts): candidates, or-groups in order, providers sorted like apt's
// CompareProviders, discarding a candidate whose dependencies no candidate meets.

import { satisfies } from "./debian-version.ts";
import type { PackageCatalog, PackageRecord, ProvidesEntry } from "./package-catalog.ts";
import { archRestrictionAllows, type Relation, type RelationGroup } from "./package-relations.ts";

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

export class Marker {
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


/** A package's Pre-Depends and Depends for this architecture, or-groups left non-empty. */
export function criticalDeps(catalog: PackageCatalog, rec: PackageRecord): { group: RelationGroup; field: "Depends" | "Pre-Depends" }[] {
  const r = catalog.relations(rec);
  const arch = catalog.nativeArch;
  const out: { group: RelationGroup; field: "Depends" | "Pre-Depends" }[] = [];
  for (const g of r.preDepends) out.push({ group: g.filter((x) => archRestrictionAllows(x.archRestrictions, arch)), field: "Pre-Depends" });
  for (const g of r.depends) out.push({ group: g.filter((x) => archRestrictionAllows(x.archRestrictions, arch)), field: "Depends" });
  return out.filter((d) => d.group.length > 0);
}
