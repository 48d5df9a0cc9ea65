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
import type { PackageCatalog, PackageRecord } from "./package-catalog.ts";
import type { SolverReason } from "./package-reason.ts";
import { formatRelation } from "./package-relations.ts";
import { criticalDeps, Marker } from "./apt-marker.ts";
import { explain, findProblems, type Problem, type RuledOut } from "./solver-problems.ts";

export type { Problem, RuledOut } from "./solver-problems.ts";

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
export interface Unsatisfiable {
  ok: false;
  problems: Problem[];
  /** Human-readable explanation of every problem, one block each. */
  explanation: string;
}

export type ResolveResult = Resolution | Unsatisfiable;


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

/** Stable sort helper used by callers comparing resolutions: by name, then version. */
export function compareResolved(a: ResolvedPackage, b: ResolvedPackage): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version);
}
