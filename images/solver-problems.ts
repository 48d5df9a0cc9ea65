// Why a package set cannot be installed: the relations the marking left broken, each candidate's
// fate (missing, wrong version, conflicting, itself uninstallable), and the text that explains them.

import { satisfies, type RelationOp } from "./debian-version.ts";
import type { PackageCatalog, PackageRecord } from "./package-catalog.ts";
import { formatGroup, formatRelation, type Relation } from "./package-relations.ts";
import { criticalDeps, type Marker } from "./apt-marker.ts";

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

/** Finds broken relations in the marked state and explains each candidate's fate. */
export function findProblems(catalog: PackageCatalog, marker: Marker, requests: readonly { name: string; selectedAs?: string; op?: RelationOp; version?: string }[]): Problem[] {
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

